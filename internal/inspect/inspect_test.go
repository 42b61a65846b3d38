package inspect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/inspect"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// hangGuard bounds waits for things that must happen; no timing assertion.
const hangGuard = 5 * time.Minute

const apiKey = "da2-inspect-test"

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// backend is dsgen serve in-process on loopback over Badger on disk.
func backend(t *testing.T) string {
	t.Helper()
	sch, err := schema.LoadPath(filepath.Join("..", "..", "examples", "blog", "schema.graphql"), schema.Options{})
	must(t, err)
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir()})
	must(t, err)
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}})
	must(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
		_ = st.Close()
	})
	return ts.URL + "/graphql"
}

// blogClient is the generated blog app with a sync engine, on dir.
type blogClient struct {
	ds  *blogm.DataStore
	eng *syncengine.Engine
}

func newClient(t *testing.T, url, dir string, cfg syncengine.Config) *blogClient {
	t.Helper()
	ds, err := blogm.Open(context.Background(), dir, datastore.Outbox())
	must(t, err)
	cfg.Endpoint, cfg.Auth, cfg.MaxBackoff = url, client.APIKey(apiKey), 300*time.Millisecond
	eng, err := syncengine.New(ds.Store(), cfg)
	must(t, err)
	c := &blogClient{ds: ds, eng: eng}
	t.Cleanup(func() { c.close(t) })
	return c
}

func (c *blogClient) start(t *testing.T) {
	t.Helper()
	must(t, c.eng.Start(context.Background()))
	select {
	case <-c.eng.Ready():
	case <-time.After(hangGuard):
		t.Fatal("engine not ready before the hang guard")
	}
}

func (c *blogClient) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	must(t, c.eng.Stop(ctx))
}

// close ends the engine and the store (idempotent).
func (c *blogClient) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := c.eng.Close(ctx); err != nil {
		t.Errorf("engine close: %v", err)
	}
	if err := c.ds.Close(ctx); err != nil {
		t.Errorf("store close: %v", err)
	}
}

// storeWithEverything makes, with the generated blog app and its sync
// engine against dsgen serve, a closed store holding synced records, a dead
// letter (a create of an id another client created first) and two unsent
// mutations, the first a create merged with two later updates.
func storeWithEverything(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	url := backend(t)
	dir := t.TempDir()
	a := newClient(t, url, t.TempDir(), syncengine.Config{})
	a.start(t)
	c := newClient(t, url, dir, syncengine.Config{SyncExpressions: []syncengine.SyncExpr{
		syncengine.SyncFilter("Blog", map[string]any{"name": map[string]any{"beginsWith": "B"}}),
	}})
	must(t, c.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "c's"}))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "dup", Title: "a's"}))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "synced", Title: "from a"}))
	poll.Until(t, "a's creates acknowledged", func() bool {
		out, err := a.ds.Store().Outbox(ctx)
		return err == nil && len(out) == 0
	})
	c.start(t)
	poll.Until(t, "c's create of dup refused", func() bool {
		dead, err := c.ds.Store().DeadLetters(ctx)
		return err == nil && len(dead) == 1
	})
	poll.Until(t, "c synced a's post", func() bool {
		_, err := c.ds.Post.Get(ctx, "synced")
		return err == nil
	})
	c.stop(t)
	p := &blogm.Post{ID: "offline", Title: "one"}
	must(t, c.ds.Post.Save(ctx, p))
	p.Title = "two"
	must(t, c.ds.Post.Save(ctx, p))
	p.Title = "three"
	must(t, c.ds.Post.Save(ctx, p))
	must(t, c.ds.Post.Delete(ctx, mustGet(t, c, "synced")))
	c.close(t)
	return dir
}

func mustGet(t *testing.T, c *blogClient, id string) *blogm.Post {
	t.Helper()
	p, err := c.ds.Post.Get(context.Background(), id)
	must(t, err)
	return p
}

// TestInspectStore reads a store the generated app wrote: models and
// counts, sync state, the outbox in order with its merged entry, the dead
// letter with its error, and records with their sync metadata, decoded
// both from the store's own layout and from the schema and its lock.
func TestInspectStore(t *testing.T) {
	ctx := context.Background()
	dir := storeWithEverything(t)
	before := listing(t, dir)

	for _, name := range []string{"stored layout", "schema and lock"} {
		t.Run(name, func(t *testing.T) {
			o := inspect.Options{}
			if name == "schema and lock" {
				s, err := inspect.LoadSchema(filepath.Join("..", "..", "examples", "blog", "schema.graphql"), nil)
				must(t, err)
				o.Schema = s
			}
			st, err := inspect.Open(ctx, dir, o)
			must(t, err)
			defer st.Close()
			if st.Snapshot != "" {
				t.Errorf("a store nobody holds was copied to %s", st.Snapshot)
			}
			sum, err := st.Summary(ctx)
			must(t, err)
			if sum.SchemaVersion != blogm.SchemaVersion || sum.Migration != 0 || sum.Migrating != nil || sum.SchemaMismatch != "" {
				t.Errorf("schema: version %q migration %d migrating %v mismatch %q; want version %s", sum.SchemaVersion, sum.Migration, sum.Migrating, sum.SchemaMismatch, blogm.SchemaVersion)
			}
			var post *inspect.ModelSummary
			for i := range sum.Models {
				if sum.Models[i].Name == "Post" {
					post = &sum.Models[i]
				}
			}
			if post == nil {
				t.Fatalf("no Post in %+v", sum.Models)
			}
			// dup (a's, synced into c) and offline; synced was deleted locally.
			if post.Records != 2 {
				t.Errorf("Post records = %d, want 2", post.Records)
			}
			if post.Sync.LastSync == nil || post.Sync.LastFullSync == nil {
				t.Errorf("Post sync state = %+v, want lastSync and lastFullSync", post.Sync)
			}
			for _, m := range sum.Models {
				if m.Name == "Blog" && (m.Sync.LastSyncPredicate == nil || !strings.Contains(*m.Sync.LastSyncPredicate, "beginsWith")) {
					t.Errorf("Blog's sync expression = %v, want the beginsWith filter", m.Sync.LastSyncPredicate)
				}
			}
			if len(sum.Outbox) != 2 {
				t.Fatalf("outbox = %+v, want the merged create and the delete", sum.Outbox)
			}
			first, second := sum.Outbox[0], sum.Outbox[1]
			if first.Op != datastore.MutationCreate || first.Key[0] != "offline" || first.Data["title"] != "three" || first.Rev != 2 {
				t.Errorf("first outbox entry = %+v, want the create of offline merged with two updates (title three, rev 2)", first)
			}
			if second.Op != datastore.MutationDelete || second.Key[0] != "synced" || second.Seq <= first.Seq {
				t.Errorf("second outbox entry = %+v, want the delete of synced after seq %d", second, first.Seq)
			}
			if len(sum.DeadLetters) != 1 || sum.DeadLetters[0].Key[0] != "dup" || sum.DeadLetters[0].Reason == "" || sum.DeadLetters[0].Failed == 0 {
				t.Errorf("dead letters = %+v, want dup's refused create with its error", sum.DeadLetters)
			}

			recs, err := st.Records(ctx, "Post", 0)
			must(t, err)
			byID := map[string]inspect.Record{}
			for _, r := range recs {
				byID[r.Values["id"].(string)] = r
			}
			if r := byID["dup"]; r.Values["title"] != "a's" || r.Sync == nil || r.Sync.Version < 1 || r.Pending {
				t.Errorf("dup = %+v (sync %+v), want a's synced record", r.Values, r.Sync)
			}
			if r := byID["offline"]; r.Values["title"] != "three" || r.Sync != nil || !r.Pending {
				t.Errorf("offline = %+v (sync %+v, pending %v), want the unsent record", r.Values, r.Sync, r.Pending)
			}
			if _, err := st.Records(ctx, "Nope", 0); err == nil || !strings.Contains(err.Error(), "Post") {
				t.Errorf("unknown model: %v, want an error listing the models", err)
			}
		})
	}
	if after := listing(t, dir); after != before {
		t.Errorf("inspect changed the store's directory:\nbefore %s\nafter  %s", before, after)
	}
}

// listing is the names, sizes and modification times of dir's files.
func listing(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var b strings.Builder
	for _, e := range ents {
		info, err := e.Info()
		must(t, err)
		fmt.Fprintf(&b, "%s:%d:%s ", e.Name(), info.Size(), info.ModTime())
	}
	return b.String()
}

// TestInspectWhileAppRuns inspects a store a running app process holds:
// without copying it is refused naming the process; by default it is read
// from a copy, which holds the write the app just made.
func TestInspectWhileAppRuns(t *testing.T) {
	ctx := context.Background()
	url := backend(t)
	dir := t.TempDir()
	app := testenv.RunGoProgram(t, "./runtime/syncengine/testdata/client", "-dir", dir, "-url", url, "-key", apiKey)
	await := func(key string) map[string]any {
		deadline := time.Now().Add(hangGuard)
		for time.Now().Before(deadline) {
			var m map[string]any
			if json.Unmarshal([]byte(app.NextLine(t, time.Until(deadline))), &m) == nil && m[key] != nil {
				return m
			}
		}
		t.Fatalf("the app never answered %q:\n%s", key, app.Stderr())
		return nil
	}
	await("ready")
	must(t, app.Send(map[string]any{"op": "stop"}))
	await("stopped")
	must(t, app.Send(map[string]any{"op": "save", "id": "live", "title": "written by the app"}))
	await("ok")

	_, err := inspect.Open(ctx, dir, inspect.Options{Copy: inspect.CopyNever})
	var le *inspect.LockedError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "pid ") || !strings.Contains(err.Error(), "--no-copy") {
		t.Fatalf("open of a held store without copying: %v, want a *LockedError naming the process and --no-copy", err)
	}
	if want := "(client"; !strings.Contains(le.Holder, want) {
		t.Errorf("holder %q does not name the process %s", le.Holder, want)
	}

	st, err := inspect.Open(ctx, dir, inspect.Options{})
	must(t, err)
	if st.Snapshot == "" || st.LockedBy != le.Holder {
		t.Errorf("snapshot %q locked by %q, want a copy because of %q", st.Snapshot, st.LockedBy, le.Holder)
	}
	sum, err := st.Summary(ctx)
	must(t, err)
	if len(sum.Outbox) != 1 || sum.Outbox[0].Key[0] != "live" {
		t.Errorf("outbox read from the copy = %+v, want the app's unsent create of live", sum.Outbox)
	}
	recs, err := st.Records(ctx, "Post", 0)
	must(t, err)
	if len(recs) != 1 || recs[0].Values["title"] != "written by the app" {
		t.Errorf("records read from the copy = %+v", recs)
	}
	snap := st.Snapshot
	must(t, st.Close())
	if _, err := os.Stat(snap); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy %s is left after Close: %v", snap, err)
	}

	// The app goes on unharmed: it still reads and writes its store.
	must(t, app.Send(map[string]any{"op": "save", "id": "after", "title": "still works"}))
	await("ok")

	// Copies taken while the app writes open (the torn end of its log is
	// what a crash leaves) and never go back in time.
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := app.Send(map[string]any{"op": "save", "id": fmt.Sprintf("busy%04d", i), "title": "while copied"}); err != nil {
				done <- err
				return
			}
			app.NextLine(t, hangGuard)
		}
	}()
	seen := 0
	for range 5 {
		st, err := inspect.Open(ctx, dir, inspect.Options{})
		if err != nil {
			close(stop)
			t.Fatalf("open a copy while the app writes: %v", err)
		}
		sum, err := st.Summary(ctx)
		must(t, err)
		must(t, st.Close())
		if len(sum.Outbox) < seen {
			t.Errorf("a later copy has %d outbox entries, an earlier one %d", len(sum.Outbox), seen)
		}
		seen = len(sum.Outbox)
	}
	close(stop)
	must(t, <-done)
	if seen < 2 {
		t.Errorf("the copies saw %d outbox entries, want at least live and after", seen)
	}

	// Killed, the app leaves its memtable log unflushed, which Badger
	// replays only when it may write: read from a copy, the store is seen
	// as the app's next start would find it.
	must(t, app.Kill())
	<-app.Exited()
	before := listing(t, dir)
	if _, err := inspect.Open(ctx, dir, inspect.Options{Copy: inspect.CopyNever}); err == nil || !strings.Contains(err.Error(), "not closed cleanly") {
		t.Errorf("open of a killed app's store without copying: %v, want an error saying it was not closed cleanly", err)
	}
	st, err = inspect.Open(ctx, dir, inspect.Options{})
	must(t, err)
	if st.Snapshot == "" || !strings.Contains(st.Why, "not closed cleanly") {
		t.Errorf("snapshot %q why %q", st.Snapshot, st.Why)
	}
	if after := listing(t, dir); after != before {
		t.Errorf("inspect changed the killed app's store:\nbefore %s\nafter  %s", before, after)
	}
	defer st.Close()
	sum, err = st.Summary(ctx)
	must(t, err)
	if len(sum.Outbox) < seen || sum.Outbox[1].Key[0] != "after" {
		t.Errorf("outbox after the app was killed = %d entries (%+v first), want at least %d from live and after", len(sum.Outbox), sum.Outbox[:min(2, len(sum.Outbox))], seen)
	}
}

// TestInspectCommand runs the real dsgen inspect on a store: the summary
// tables, a model's records, and --json.
func TestInspectCommand(t *testing.T) {
	dir := storeWithEverything(t)
	bin := testenv.BuildDSGen(t)
	cwd := t.TempDir() // no dsgen.yml: the store's layout decodes
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"inspect", dir}, args...)...)
		cmd.Dir = cwd
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dsgen inspect %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	text := run()
	t.Logf("dsgen inspect DIR:\n%s", text)
	for _, want := range []string{"version " + blogm.SchemaVersion, `{"name":{"beginsWith":"B"}}`, "OUTBOX: 2 mutation(s), in send order", "DEAD LETTERS: 1", "create", "delete", `["dup"]`} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	recs := run("--model", "Post")
	t.Logf("dsgen inspect DIR --model Post:\n%s", recs)
	if !strings.Contains(recs, "Post: 2 record(s)") || !strings.Contains(recs, "three") || !strings.Contains(recs, "_version") {
		t.Errorf("records:\n%s", recs)
	}
	var sum struct {
		Models []struct {
			Name    string
			Records int
		}
		Outbox []struct {
			Seq uint64
			Op  string
		}
		DeadLetters []struct{ Reason string }
	}
	must(t, json.Unmarshal([]byte(run("--json")), &sum))
	if len(sum.Outbox) != 2 || sum.Outbox[0].Seq == 0 || len(sum.DeadLetters) != 1 || sum.DeadLetters[0].Reason == "" {
		t.Errorf("--json = %+v", sum)
	}
	// With dsgen.yml naming the schema, its schema and lock decode; flags
	// may come before DIR.
	schemaPath, err := filepath.Abs(filepath.Join("..", "..", "examples", "blog", "schema.graphql"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(cwd, "dsgen.yml"), []byte("schema: "+schemaPath+"\n"), 0o644))
	cmd := exec.Command(bin, "inspect", "--model", "Post", dir)
	cmd.Dir = cwd
	withSchema, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(withSchema), "layout") || !strings.Contains(string(withSchema), "three") {
		t.Errorf("inspect with dsgen.yml: %v\n%s", err, withSchema)
	}
	if text := run(); strings.Contains(text, "layout stored") {
		t.Errorf("summary with dsgen.yml still decodes with the stored layout:\n%s", text)
	}

	if cut := run("--model", "Post", "--limit", "1"); !strings.Contains(cut, "the first 1 record(s)") {
		t.Errorf("--limit 1 does not say the list is cut:\n%s", cut)
	}
	var one struct {
		Records []inspect.Record
	}
	must(t, json.Unmarshal([]byte(run("--model", "Post", "--limit", "1", "--json")), &one))
	if len(one.Records) != 1 {
		t.Errorf("--limit 1 gave %d records", len(one.Records))
	}
}

// TestInspectMigrationUnderWay reads a store whose migration stopped part
// way (the conversion failed on one record of the second batch): the
// migration state says where it stands, the store's migration number is
// still the old one, and a record the migration already converted is
// reported as undecodable with the old layout, not as an error of the
// whole listing.
func TestInspectMigrationUnderWay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	const n = 600 // two batches of the migration
	for i := range n {
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("p%04d", i), Title: "t", Rating: &i}))
	}
	must(t, ds.Close(ctx))

	s := blogm.Schema()
	for _, m := range s.Models {
		for i, f := range m.Fields {
			if f.Stored() {
				f.Number = i + 1
			}
		}
	}
	rating := s.Model("Post").Field("rating")
	old := *rating
	rating.Type = meta.Float
	s.Version, s.Migration = "v2", 1
	s.Migrations = []*meta.Migration{{Number: 1, Steps: []*meta.MigrationStep{
		{Kind: meta.ChangeFieldType, Model: "Post", Field: "rating", FieldID: 3, Old: &old, Effect: meta.NeedsCode, Func: "double",
			Convert: func(v any) (any, error) {
				if v == int64(550) {
					return nil, errors.New("not written yet")
				}
				return float64(v.(int64)), nil
			}},
	}}}
	st, err := datastore.Open(ctx, s, dir)
	must(t, err)
	var me *datastore.MigrationError
	if err := st.Start(ctx); !errors.As(err, &me) {
		t.Fatalf("start: %v, want the conversion's MigrationError", err)
	}
	must(t, st.Close(ctx))

	in, err := inspect.Open(ctx, dir, inspect.Options{})
	must(t, err)
	defer in.Close()
	sum, err := in.Summary(ctx)
	must(t, err)
	if sum.Migration != 0 || sum.Migrating == nil || sum.Migrating["Phase"] != "records" || sum.Migrating["Model"] != "Post" {
		t.Errorf("migration %d, under way %v; want 0 and the records phase of Post", sum.Migration, sum.Migrating)
	}
	recs, err := in.Records(ctx, "Post", 0)
	must(t, err)
	bad, good := 0, 0
	for _, r := range recs {
		if r.Error != "" {
			bad++
		} else if r.Values["rating"] != nil {
			good++
		}
	}
	if len(recs) != n || bad != 512 || good != n-512 {
		t.Errorf("%d records, %d undecodable, %d decoded; want %d, the 512 of the first batch converted to Float, the rest as stored", len(recs), bad, good, n)
	}
	var b strings.Builder
	must(t, in.WriteSummary(&b, sum))
	if !strings.Contains(b.String(), "UNDER WAY") {
		t.Errorf("summary does not show the migration under way:\n%s", b.String())
	}
}

// TestInspectEncrypted reads an encrypted store with its key (given to
// the command as a file) and says what is wrong without it.
func TestInspectEncrypted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	ds, err := blogm.Open(ctx, dir, datastore.EncryptionKey(key))
	must(t, err)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "secret", Title: "encrypted at rest"}))
	must(t, ds.Close(ctx))

	if _, err := inspect.Open(ctx, dir, inspect.Options{}); !errors.Is(err, datastore.ErrEncryptionKey) || !strings.Contains(err.Error(), "no key was given") {
		t.Errorf("open without the key: %v, want ErrEncryptionKey saying no key was given", err)
	}
	bin := testenv.BuildDSGen(t)
	keyFile := filepath.Join(t.TempDir(), "key")
	must(t, os.WriteFile(keyFile, []byte(fmt.Sprintf("%x\n", key)), 0o600))
	cmd := exec.Command(bin, "inspect", dir, "--model", "Post", "--encryption-key-file", keyFile)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "encrypted at rest") {
		t.Errorf("inspect with the key file: %v\n%s", err, out)
	}
}

// TestInspectCrashLeftovers reads a store with an empty newest memtable
// log, which a crash while Badger created it leaves and which only a
// read-write open removes: from a copy, leaving the store as it was.
func TestInspectCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "kept"}))
	must(t, ds.Close(ctx))
	mems, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	must(t, err)
	next := 1
	for _, m := range mems {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(m), "%05d.mem", &n); err == nil && n >= next {
			next = n + 1
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.mem", next)), nil, 0o644))
	before := listing(t, dir)

	if _, err := inspect.Open(ctx, dir, inspect.Options{Copy: inspect.CopyNever}); err == nil || !strings.Contains(err.Error(), "--no-copy") {
		t.Errorf("open without copying: %v, want the empty log reported with how to read it", err)
	}
	st, err := inspect.Open(ctx, dir, inspect.Options{})
	must(t, err)
	defer st.Close()
	if !strings.Contains(st.Why, "empty log") {
		t.Errorf("copy taken because %q", st.Why)
	}
	recs, err := st.Records(ctx, "Post", 0)
	must(t, err)
	if len(recs) != 1 || recs[0].Values["title"] != "kept" {
		t.Errorf("records = %+v", recs)
	}
	if after := listing(t, dir); after != before {
		t.Errorf("inspect changed the store:\nbefore %s\nafter  %s", before, after)
	}
}
