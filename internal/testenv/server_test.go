package testenv

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServerThroughProxy(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t)})
	if s.URL != "http://"+s.Addr+"/graphql" || s.WSURL != "ws://"+s.Addr+"/graphql/realtime" {
		t.Fatalf("URL %q, WSURL %q for addr %q", s.URL, s.WSURL, s.Addr)
	}
	p := NewProxy(t, s.Addr)

	resp, err := PostGraphQL(context.Background(), freshClient(hangGuard), p.URL("/graphql"), s.APIKey, createBlog,
		map[string]any{"input": map[string]any{"name": "via proxy"}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := dig(t, mustData(t, resp), "createBlog", "id").(string)
	if id == "" {
		t.Fatalf("createBlog returned no id: %v", resp)
	}

	// Read it back straight from the server: the proxy carried a real write.
	got := mustData(t, s.Do(t, getBlog, map[string]any{"id": id}))
	if name := dig(t, got, "getBlog", "name"); name != "via proxy" {
		t.Fatalf("getBlog name = %v, want %q", name, "via proxy")
	}
	st := p.Stats()
	if st.Accepted < 1 || st.BytesUp == 0 || st.BytesDown == 0 {
		t.Fatalf("stats %+v: want an accepted connection and bytes both ways", st)
	}
	if !strings.Contains(s.Log(), `"msg":"listening"`) {
		t.Fatalf("Log() lacks the listening line:\n%s", s.Log())
	}
}

func TestServerDoReturnsErrors(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t), APIKey: "da2-other"})
	resp := s.Do(t, `query { nosuchField }`, nil)
	if resp["errors"] == nil {
		t.Fatalf("a query of a missing field returned no errors: %v", resp)
	}
	// The configured key is the one accepted, and the only one.
	if got := mustData(t, s.Do(t, getBlog, map[string]any{"id": "x"})); got["getBlog"] != nil {
		t.Fatalf("getBlog of a missing id = %v", got)
	}
	resp, err := PostGraphQL(context.Background(), freshClient(hangGuard), s.URL, "da2-test", getBlog, map[string]any{"id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if resp["errors"] == nil {
		t.Fatalf("a wrong API key was accepted: %v", resp)
	}
}

func TestServerKillRestartKeepsData(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t), ExtraArgs: []string{"--conflict-default", "optimistic"}})
	p := NewProxy(t, s.Addr)
	client := freshClient(hangGuard)
	ctx := context.Background()

	created := mustData(t, s.Do(t, createBlog, map[string]any{"input": map[string]any{"name": "before the crash"}}))
	id := dig(t, created, "createBlog", "id").(string)

	s.Kill(t)
	if s.Running() {
		t.Fatal("Running after Kill")
	}
	if _, err := PostGraphQL(ctx, client, s.URL, s.APIKey, getBlog, map[string]any{"id": id}); err == nil {
		t.Fatal("a killed server answered")
	}
	// The proxy stays up and resets clients while its target is down.
	if _, err := PostGraphQL(ctx, client, p.URL("/graphql"), s.APIKey, getBlog, map[string]any{"id": id}); err == nil {
		t.Fatal("the proxy answered for a killed server")
	}
	if p.Stats().DialFailures < 1 {
		t.Fatalf("stats %+v: want a dial failure", p.Stats())
	}

	addr := s.Addr
	s.Restart(t)
	if s.Addr != addr {
		t.Fatalf("restarted on %s, want %s", s.Addr, addr)
	}
	resp, err := PostGraphQL(ctx, client, p.URL("/graphql"), s.APIKey, getBlog, map[string]any{"id": id})
	if err != nil {
		t.Fatal(err)
	}
	if name := dig(t, mustData(t, resp), "getBlog", "name"); name != "before the crash" {
		t.Fatalf("after restart getBlog name = %v, want %q", name, "before the crash")
	}
	// Do works across the restart, though its pooled connection died.
	if name := dig(t, mustData(t, s.Do(t, getBlog, map[string]any{"id": id})), "getBlog", "name"); name != "before the crash" || !s.Running() {
		t.Fatalf("after restart Do: getBlog name = %v, running %v", name, s.Running())
	}
	if !strings.Contains(s.Log(), "--- testenv: restart ---") {
		t.Fatalf("Log() does not mark the restart:\n%s", s.Log())
	}
	s.Stop(t)

	// A new server given the old port and directory finds the data too.
	s2 := StartServer(t, ServerOptions{Schema: blogSchema(t), DataDir: s.Dir, Addr: addr})
	if s2.Addr != addr {
		t.Fatalf("second server on %s, want %s", s2.Addr, addr)
	}
	got := mustData(t, s2.Do(t, getBlog, map[string]any{"id": id}))
	if name := dig(t, got, "getBlog", "name"); name != "before the crash" {
		t.Fatalf("second server: getBlog name = %v", name)
	}
	s2.Stop(t)
}

func TestStartServerBadInput(t *testing.T) {
	msg := expectFatal(t, func(tb testing.TB) { StartServer(tb, ServerOptions{}) })
	contains(t, msg, "Schema is empty")

	msg = expectFatal(t, func(tb testing.TB) {
		StartServer(tb, ServerOptions{Schema: filepath.Join(t.TempDir(), "missing.graphql")})
	})
	contains(t, msg, "missing.graphql")

	bad := filepath.Join(t.TempDir(), "bad.graphql")
	if err := os.WriteFile(bad, []byte("type Blog @model {\n  id: ID!\n  name: NoSuchType\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	msg = expectFatal(t, func(tb testing.TB) { StartServer(tb, ServerOptions{Schema: bad}) })
	contains(t, msg, "exited before listening")
	contains(t, msg, "NoSuchType")
}

func TestBuildIsMemoised(t *testing.T) {
	a, b := BuildDSGen(t), BuildDSGen(t)
	if a != b {
		t.Fatalf("two builds in one test binary: %s and %s", a, b)
	}
	if _, err := os.Stat(a); err != nil {
		t.Fatal(err)
	}
}

func TestRestartWaitsForThePort(t *testing.T) {
	s := StartServer(t, ServerOptions{Schema: blogSchema(t)})
	s.Stop(t)

	// Someone else holds the port when Restart begins; it lets go once the
	// server has failed to bind at least once.
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		defer ln.Close()
		for end := time.Now().Add(hangGuard); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if strings.Contains(s.Log(), "address already in use") {
				return
			}
		}
	}()
	s.Restart(t)
	<-released
	if !strings.Contains(s.Log(), "address already in use") {
		t.Fatal("Restart never met the held port")
	}
	if !s.Running() {
		t.Fatal("not running after Restart")
	}
}
