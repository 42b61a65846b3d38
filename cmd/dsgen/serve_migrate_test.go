package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

const migrateV1 = `
type Post @model @auth(rules: [{allow: public}]) { id: ID! title: String! body: String secret: String }
type Note @model @auth(rules: [{allow: public}]) { id: ID! text: String }
`

// migrateV2 renames Post.title, adds Post.views with a default, drops
// Post.secret and renames the model Note.
const migrateV2 = `
type Post @model @auth(rules: [{allow: public}]) {
  id: ID!
  headline: String! @renamedFrom(name: "title")
  body: String
  views: Int! @default(value: "7")
}
type Memo @model @auth(rules: [{allow: public}]) @renamedFrom(name: "Note") { id: ID! text: String }
`

// serveEngines runs test once per engine with the flags that select it;
// the same flags give the same data across runs within the test.
func serveEngines(t *testing.T, test func(t *testing.T, storeArgs []string)) {
	t.Run("badger", func(t *testing.T) {
		test(t, []string{"--data", filepath.Join(t.TempDir(), "data")})
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, []string{"--store", pgtest.Schema(t)})
	})
}

// gqlErr runs a query expected to fail and returns its errors' text.
func gqlErr(t *testing.T, url, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("x-api-key", "da2-test")
	req.Header.Set("content-type", "application/json")
	resp, err := (&http.Client{Timeout: hangGuard}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"errors"`) {
		t.Fatalf("%s: no error: %s", query, b)
	}
	return string(b)
}

// TestServeMigrate is the server's schema-change workflow with the real
// binary: serve v1, write, stop, dsgen migrate to v2 (field rename, added
// field with a default, dropped field, model rename), serve again: queries
// and sync see the migrated records with their versions and
// _lastChangedAt unchanged, and a client's write against the old _version
// goes through. The v1 schema is then refused on the migrated data.
func TestServeMigrate(t *testing.T) {
	bin := dsgenBinary(t)
	serveEngines(t, func(t *testing.T, storeArgs []string) {
		dir := newProject(t, migrateV1)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 0 {
			t.Fatalf("migrate --init: %s", r.stderr)
		}
		old := t.TempDir() // v1 with its lock, kept for the refusal below
		copyFile(t, filepath.Join(dir, "schema.graphql"), filepath.Join(old, "schema.graphql"))
		copyFile(t, filepath.Join(dir, "dsgen.lock.json"), filepath.Join(old, "dsgen.lock.json"))

		args := append([]string{"--schema", filepath.Join(dir, "schema.graphql"), "--addr", "127.0.0.1:0", "--api-key", "da2-test"}, storeArgs...)
		client := &http.Client{Timeout: hangGuard}
		p := startServe(t, bin, args...)
		url := "http://" + p.addr + "/graphql"
		before := time.Now().Add(-time.Second).UnixMilli()
		for i := range 3 {
			gql(t, client, url, "da2-test", `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
				map[string]any{"i": map[string]any{"id": fmt.Sprint("p", i), "title": fmt.Sprint("Title ", i), "body": "b", "secret": "s"}})
		}
		gql(t, client, url, "da2-test", `mutation { updatePost(input: {id: "p1", title: "Title 1b", _version: 1}) { id } }`, nil)
		gql(t, client, url, "da2-test", `mutation { deletePost(input: {id: "p2", _version: 1}) { id } }`, nil)
		gql(t, client, url, "da2-test", `mutation { createNote(input: {id: "n1", text: "hello"}) { id } }`, nil)
		v1 := gql(t, client, url, "da2-test", `{ getPost(id: "p1") { _version _lastChangedAt } }`, nil)["getPost"].(map[string]any)
		if code := p.stop(t); code != 0 {
			t.Fatalf("v1 exit %d", code)
		}

		must(t, os.WriteFile(filepath.Join(dir, "schema.graphql"), []byte(migrateV2), 0o644))
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql"); r.code != 0 {
			t.Fatalf("migrate: %s%s", r.stdout, r.stderr)
		}
		// --migrate=check refuses while the migration is pending.
		if r := runIn(t, bin, dir, append([]string{"serve", "--migrate", "check"}, args...)...); r.code != 1 || !strings.Contains(r.stderr, "0001") {
			t.Errorf("--migrate=check with a pending migration: exit %d, %s", r.code, r.stderr)
		}

		p = startServe(t, bin, args...)
		if !strings.Contains(p.log(), `"msg":"migrating the data store"`) {
			t.Errorf("no migration logged:\n%s", p.log())
		}
		url = "http://" + p.addr + "/graphql"
		got := gql(t, client, url, "da2-test", `{ getPost(id: "p1") { headline body views _version _lastChangedAt } }`, nil)["getPost"].(map[string]any)
		want := map[string]any{"headline": "Title 1b", "body": "b", "views": float64(7), "_version": v1["_version"], "_lastChangedAt": v1["_lastChangedAt"]}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("migrated p1 = %v, want %v", got, want)
		}
		// An old client's selection of a renamed or dropped field is refused,
		// as AppSync refuses a field the deployed schema no longer has.
		if e := gqlErr(t, url, `{ getPost(id: "p0") { title secret } }`); !strings.Contains(e, "title") || !strings.Contains(e, "ValidationError") {
			t.Errorf("old field selection: %s", e)
		}
		memo := gql(t, client, url, "da2-test", `{ getMemo(id: "n1") { text _version } }`, nil)["getMemo"].(map[string]any)
		if memo["text"] != "hello" || memo["_version"] != float64(1) {
			t.Errorf("renamed model's record = %v", memo)
		}
		for _, q := range []string{
			`{ syncPosts { items { id headline views _deleted _version } } }`,
			fmt.Sprintf(`{ syncPosts(lastSync: %d) { items { id headline views _deleted _version } } }`, before),
		} {
			items := gql(t, client, url, "da2-test", q, nil)["syncPosts"].(map[string]any)["items"].([]any)
			if len(items) != 3 {
				t.Fatalf("%s: %d items: %v", q, len(items), items)
			}
			for _, it := range items {
				it := it.(map[string]any)
				if it["views"] != float64(7) || !strings.HasPrefix(fmt.Sprint(it["headline"]), "Title ") {
					t.Errorf("%s: item %v", q, it)
				}
				if it["id"] == "p2" && (it["_deleted"] != true || it["_version"] != float64(2)) {
					t.Errorf("%s: tombstone %v", q, it)
				}
			}
		}
		// A client's pending update made against the pre-migration version
		// goes through: the migration took no version.
		upd := gql(t, client, url, "da2-test", `mutation { updatePost(input: {id: "p0", views: 9, _version: 1}) { headline views _version } }`, nil)["updatePost"].(map[string]any)
		if upd["headline"] != "Title 0" || upd["views"] != float64(9) || upd["_version"] != float64(2) {
			t.Errorf("update after the migration = %v", upd)
		}
		if code := p.stop(t); code != 0 {
			t.Fatalf("v2 exit %d", code)
		}

		// A restart does not migrate again.
		p = startServe(t, bin, args...)
		if strings.Contains(p.log(), "migrating") {
			t.Errorf("second start migrated again:\n%s", p.log())
		}
		p.stop(t)

		// The v1 schema is refused on data written by v2.
		oldArgs := append([]string{"serve", "--schema", filepath.Join(old, "schema.graphql"), "--addr", "127.0.0.1:0", "--api-key", "da2-test"}, storeArgs...)
		r := runIn(t, bin, old, oldArgs...)
		lock := readLock(t, dir)
		if r.code != 1 || !strings.Contains(r.stderr, "newer schema") || !strings.Contains(r.stderr, lock.SchemaVersion) || !strings.Contains(r.stderr, readLock(t, old).SchemaVersion) {
			t.Errorf("v1 on v2 data: exit %d, stderr %s", r.code, r.stderr)
		}
	})
}

// TestServeMigrateResume kills a real `dsgen serve` mid-migration (held by
// the test hook after one committed batch) with SIGKILL; the next start
// resumes from the stored position and every record ends migrated.
func TestServeMigrateResume(t *testing.T) {
	bin := dsgenBinary(t)
	serveEngines(t, func(t *testing.T, storeArgs []string) {
		dir := newProject(t, migrateV1)
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql", "--init"); r.code != 0 {
			t.Fatalf("migrate --init: %s", r.stderr)
		}
		args := append([]string{"--schema", filepath.Join(dir, "schema.graphql"), "--addr", "127.0.0.1:0", "--api-key", "da2-test"}, storeArgs...)
		client := &http.Client{Timeout: hangGuard}
		p := startServe(t, bin, args...)
		url := "http://" + p.addr + "/graphql"
		const n = 600 // three batches of 256
		for i := range n {
			gql(t, client, url, "da2-test", `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
				map[string]any{"i": map[string]any{"id": fmt.Sprintf("p%04d", i), "title": fmt.Sprint("T", i), "secret": "s"}})
		}
		p.stop(t)
		must(t, os.WriteFile(filepath.Join(dir, "schema.graphql"), []byte(migrateV2), 0o644))
		if r := runIn(t, bin, dir, "migrate", "--schema", "schema.graphql"); r.code != 0 {
			t.Fatalf("migrate: %s%s", r.stdout, r.stderr)
		}

		cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
		cmd.Env = append(os.Environ(), "DSGEN_TEST_MIGRATE_PAUSE_AFTER=1")
		waitForLine(t, cmd, "migration paused")
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		p = startServe(t, bin, args...)
		if !strings.Contains(p.log(), `"resumed":true`) {
			t.Errorf("the restart did not resume:\n%s", p.log())
		}
		url = "http://" + p.addr + "/graphql"
		seen := 0
		var token any
		for {
			page := gql(t, client, url, "da2-test", `query($t: String) { syncPosts(limit: 1000, nextToken: $t) { items { id headline views } nextToken } }`,
				map[string]any{"t": token})["syncPosts"].(map[string]any)
			for _, it := range page["items"].([]any) {
				it := it.(map[string]any)
				var i int
				fmt.Sscanf(it["id"].(string), "p%d", &i)
				if it["headline"] != fmt.Sprint("T", i) || it["views"] != float64(7) {
					t.Errorf("record %v not migrated", it)
				}
				seen++
			}
			if token = page["nextToken"]; token == nil {
				break
			}
		}
		if seen != n {
			t.Errorf("%d records after the resumed migration, want %d", seen, n)
		}
		p.stop(t)
	})
}

// waitForLine starts cmd and returns once its stderr holds a line with
// msg; the process keeps running.
func waitForLine(t *testing.T, cmd *exec.Cmd, msg string) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	found := make(chan bool, 1)
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), msg) {
				found <- true
				go io.Copy(io.Discard, stderr) //nolint:errcheck // drains until the kill
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("dsgen serve ended without %q:\n%s", msg, log.String())
		}
	case <-time.After(hangGuard):
		t.Fatalf("no %q before the hang guard", msg)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}

type lockFile struct {
	SchemaVersion string
	Migration     int
}

func readLock(t *testing.T, dir string) lockFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "dsgen.lock.json"))
	must(t, err)
	var l lockFile
	must(t, json.Unmarshal(b, &l))
	return l
}

// TestServeMigrateSettings: serve finds the lock where dsgen.yml's
// top-level lock puts it for dsgen migrate, and takes --migrate from the
// serve: section.
func TestServeMigrateSettings(t *testing.T) {
	bin := dsgenBinary(t)
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "api"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "locks"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "api", "schema.graphql"), []byte(migrateV1), 0o644))
	yml := "schema: api/schema.graphql\nout: model\nlock: locks/dsgen.lock.json\nserve:\n  data: data\n  api-key: [da2-test]\n  addr: 127.0.0.1:0\n"
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte(yml), 0o644))
	if r := runIn(t, bin, dir, "migrate", "--init"); r.code != 0 {
		t.Fatalf("migrate --init: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "locks", "dsgen.lock.json")); err != nil {
		t.Fatalf("the lock is not where dsgen.yml puts it: %v", err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	p := startServeCmd(t, cmd)
	p.stop(t)

	must(t, os.WriteFile(filepath.Join(dir, "api", "schema.graphql"), []byte(migrateV2), 0o644))
	if r := runIn(t, bin, dir, "migrate"); r.code != 0 {
		t.Fatalf("migrate: %s%s", r.stdout, r.stderr)
	}
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte(yml+"  migrate: check\n"), 0o644))
	if r := runIn(t, bin, dir, "serve"); r.code != 1 || !strings.Contains(r.stderr, "--migrate=auto") {
		t.Fatalf("serve with migrate: check in dsgen.yml: exit %d, %s", r.code, r.stderr)
	}
	must(t, os.WriteFile(filepath.Join(dir, "dsgen.yml"), []byte(yml), 0o644))
	cmd = exec.Command(bin, "serve")
	cmd.Dir = dir
	p = startServeCmd(t, cmd)
	if !strings.Contains(p.log(), `"msg":"migrated"`) {
		t.Errorf("serve did not migrate with the lock from dsgen.yml:\n%s", p.log())
	}
	p.stop(t)
}
