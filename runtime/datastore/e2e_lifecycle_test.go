package datastore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/comment"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/storage"
)

func TestE2EReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	all := seedPosts(t, ds, 150, 12)
	g := saveBlogGraph(t, ds, 2, 3, 2)
	type result struct {
		name string
		ids  string
		plan string
	}
	queries := func(ds *blogm.DataStore) []result {
		var out []result
		for _, q := range []struct {
			name string
			q    *datastore.Query[blogm.Post]
		}{
			{"blog ba", ds.Post.Query().Where(post.BlogPostsID.Eq("ba"))},
			{"blog in", ds.Post.Query().Where(post.BlogPostsID.In("b", "b1"))},
			{"id range", ds.Post.Query().Where(post.ID.Between("p010", "p020"))},
			{"sorted", ds.Post.Query().Order(post.BlogPostsID.Desc(), post.Rating.Asc()).Limit(17)},
			{"scan", ds.Post.Query().Where(post.Rating.Gt(2))},
		} {
			items, err := q.q.All(ctx)
			must(t, err)
			out = append(out, result{q.name, strings.Join(keysOf(items, postKey), " "), q.q.Plan()})
		}
		cs, err := ds.Comment.Query().Where(comment.PostCommentsID.Eq("b1.p2")).All(ctx)
		must(t, err)
		out = append(out, result{"comments", strings.Join(keysOf(cs, func(c *blogm.Comment) string { return c.ID }), " "), ""})
		return out
	}
	before := queries(ds)
	want := bruteForce(all, post.BlogPostsID.Eq("ba"), func(a, b *blogm.Post) int { return strings.Compare(a.ID, b.ID) })
	if before[0].ids != strings.Join(keysOf(want, postKey), " ") {
		t.Fatalf("before reopen: %s", before[0].ids)
	}
	must(t, ds.Close(ctx))

	ds, err = blogm.Open(ctx, dir)
	must(t, err)
	closeAtEnd(t, ds)
	after := queries(ds)
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("%s after reopen:\n got  %+v\n want %+v", before[i].name, after[i], before[i])
		}
		if strings.HasPrefix(before[i].plan, "scan") && before[i].name != "scan" {
			t.Errorf("%s: plan %q", before[i].name, before[i].plan)
		}
	}
	if n, _ := ds.PostTags.Query().Count(ctx); n != len(g.joins) {
		t.Errorf("%d join rows after reopen, want %d", n, len(g.joins))
	}
	// Writes after reopen keep the indexes right.
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p000", Title: "moved", BlogPostsID: ptr("ba")}))
	must(t, ds.Post.DeleteKey(ctx, want[len(want)-1].ID))
	got, err := ds.Post.Query().Where(post.BlogPostsID.Eq("ba")).All(ctx)
	must(t, err)
	brute, err := ds.Post.Query().Where(predicate.Not(predicate.Not(post.BlogPostsID.Eq("ba")))).All(ctx)
	must(t, err)
	if a, b := strings.Join(sortedKeys(got, postKey), " "), strings.Join(sortedKeys(brute, postKey), " "); a != b || !strings.Contains(a, "p000") {
		t.Errorf("index after reopen and writes: %s\n scan: %s", a, b)
	}
}

func TestE2EClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	closeAtEnd(t, ds)
	seedPosts(t, ds, 50, 13)
	saveBlogGraph(t, ds, 2, 2, 2)
	must(t, ds.Clear(ctx))
	must(t, ds.Clear(ctx)) // idempotent
	for name, n := range map[string]func(context.Context) (int, error){
		"blogs":    ds.Blog.Query().Count,
		"posts":    ds.Post.Query().Count,
		"comments": ds.Comment.Query().Count,
		"tags":     ds.Tag.Query().Count,
		"joins":    ds.PostTags.Query().Count,
		"by index": ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Count,
		"by key":   ds.Post.Query().Where(post.ID.Eq("p001")).Count,
		"by range": ds.Post.Query().Where(post.ID.Gt("")).Count,
		"ordered":  ds.Post.Query().Order(post.BlogPostsID.Asc()).Limit(1).Count,
	} {
		if got, err := n(ctx); got != 0 || err != nil {
			t.Errorf("%s after Clear: %d, %v", name, got, err)
		}
	}
	if _, err := ds.Post.Get(ctx, "p001"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("Get after Clear: %v", err)
	}
	// The store works after Clear, indexes included, and across a reopen.
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: "b"}))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "t", BlogPostsID: ptr("b")}))
	if n, _ := ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Count(ctx); n != 1 {
		t.Errorf("index after Clear: %d", n)
	}
	must(t, ds.Close(ctx))
	ds2, err := blogm.Open(ctx, dir)
	must(t, err)
	closeAtEnd(t, ds2)
	if n, _ := ds2.Post.Query().Where(post.BlogPostsID.Eq("b")).Count(ctx); n != 1 {
		t.Errorf("index after Clear and reopen: %d", n)
	}
	if n, _ := ds2.Comment.Query().Count(ctx); n != 0 {
		t.Errorf("comments after Clear and reopen: %d", n)
	}
}

func TestE2ELifecycle(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Start(ctx))
	must(t, ds.Start(ctx))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "a", Title: "a"}))
	must(t, ds.Stop(ctx))
	must(t, ds.Stop(ctx))
	// Operations start a stopped store again.
	if p, err := ds.Post.Get(ctx, "a"); err != nil || p.Title != "a" {
		t.Errorf("Get after Stop: %v, %v", p, err)
	}
	must(t, ds.Stop(ctx))
	must(t, ds.Start(ctx))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := ds.Post.Save(cancelled, &blogm.Post{ID: "b", Title: "b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with cancelled context: %v", err)
	}

	must(t, ds.Close(ctx))
	must(t, ds.Close(ctx))
	must(t, ds.Stop(ctx))
	for name, err := range map[string]error{
		"Start":       ds.Start(ctx),
		"Clear":       ds.Clear(ctx),
		"Save":        ds.Post.Save(ctx, &blogm.Post{ID: "c", Title: "c"}),
		"Get":         second(ds.Post.Get(ctx, "a")),
		"All":         second(ds.Post.Query().All(ctx)),
		"Count":       second(ds.Post.Query().Count(ctx)),
		"First":       second(ds.Post.Query().First(ctx)),
		"Delete":      ds.Post.DeleteKey(ctx, "a"),
		"DeleteWhere": second(ds.Post.DeleteWhere(ctx, post.Title.Eq("a"))),
		"Batch":       ds.Batch(ctx, func(*blogm.Tx) error { return nil }),
		"Related":     second(ds.Post.QueryComments(&blogm.Post{ID: "a"}).All(ctx)),
		"Tags":        second(ds.Post.Tags(ctx, &blogm.Post{ID: "a"})),
	} {
		if !errors.Is(err, datastore.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func second[A any](_ A, err error) error { return err }

func TestE2EEncryption(t *testing.T) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	const secret = "a very secret title 12345"
	dir := t.TempDir()
	// Uncompressed tables (PresetDevice), so that the plain-text check
	// below means something.
	ds, err := blogm.Open(ctx, dir, datastore.EncryptionKey(key), datastore.MemoryPreset(storage.PresetDevice))
	must(t, err)
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: "b"}))
	for i := range 50 {
		must(t, ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("p", i), Title: secret, BlogPostsID: ptr("b")}))
	}
	must(t, ds.Close(ctx))
	if f := fileContaining(t, dir, secret); f != "" {
		t.Errorf("plain text of an encrypted store found in %s", f)
	}

	ds, err = blogm.Open(ctx, dir, datastore.EncryptionKey(key))
	must(t, err)
	p, err := ds.Post.Get(ctx, "p7")
	if err != nil || p.Title != secret {
		t.Errorf("Get with key: %v, %v", p, err)
	}
	if n, err := ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Count(ctx); n != 50 || err != nil {
		t.Errorf("index query with key: %d, %v", n, err)
	}
	must(t, ds.Close(ctx))

	for name, opts := range map[string][]datastore.Option{
		"no key":        nil,
		"wrong key":     {datastore.EncryptionKey(bytes.Repeat([]byte{8}, 32))},
		"shorter key":   {datastore.EncryptionKey(key[:16])},
		"wrong 24 byte": {datastore.EncryptionKey(bytes.Repeat([]byte{7}, 24))},
	} {
		ds, err := blogm.Open(ctx, dir, opts...)
		if err == nil {
			ds.Close(ctx)
		}
		if !errors.Is(err, datastore.ErrEncryptionKey) {
			t.Errorf("%s: Open: %v, want ErrEncryptionKey", name, err)
		}
	}
	// A key for a store that is not encrypted.
	plain := t.TempDir()
	ds, err = blogm.Open(ctx, plain, datastore.MemoryPreset(storage.PresetDevice))
	must(t, err)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: secret}))
	must(t, ds.Close(ctx))
	if fileContaining(t, plain, secret) == "" {
		t.Errorf("the plain-text check finds nothing in an unencrypted store either")
	}
	if ds, err := blogm.Open(ctx, plain, datastore.EncryptionKey(key)); !errors.Is(err, datastore.ErrEncryptionKey) {
		if err == nil {
			ds.Close(ctx)
		}
		t.Errorf("key for an unencrypted store: %v, want ErrEncryptionKey", err)
	}
	// And the right key still works after the failed attempts.
	ds, err = blogm.Open(ctx, dir, datastore.EncryptionKey(key))
	must(t, err)
	defer ds.Close(ctx)
	if n, err := ds.Post.Query().Count(ctx); n != 50 || err != nil {
		t.Errorf("after failed opens: %d, %v", n, err)
	}
}

// fileContaining returns a file under dir holding s, or "".
func fileContaining(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			found = path
		}
		return nil
	})
	must(t, err)
	return found
}

const lockEnv = "DSGEN_E2E_LOCK_DIR"

// TestE2ELockedChild is the child process of TestE2ELocked: it tries to
// open the directory the parent holds.
func TestE2ELockedChild(t *testing.T) {
	dir := os.Getenv(lockEnv)
	if dir == "" {
		t.Skip("child process of TestE2ELocked")
	}
	start := time.Now()
	ds, err := blogm.Open(context.Background(), dir)
	el := time.Since(start)
	switch {
	case errors.Is(err, datastore.ErrLocked):
		fmt.Printf("RESULT locked after %v: %v\n", el, err)
	case err == nil:
		n, err := ds.Post.Query().Count(context.Background())
		ds.Close(context.Background())
		fmt.Printf("RESULT opened, %d posts, %v\n", n, err)
	default:
		fmt.Printf("RESULT error: %v\n", err)
	}
}

func TestE2ELocked(t *testing.T) {
	if os.Getenv(lockEnv) != "" {
		t.Skip("in the child")
	}
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "t"}))
	child := func() string {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, hangGuard)
		defer cancel()
		cmd := exec.CommandContext(cctx, os.Args[0], "-test.run=^TestE2ELockedChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), lockEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if r, ok := strings.CutPrefix(line, "RESULT "); ok {
				return r
			}
		}
		t.Fatalf("child printed no result:\n%s", out)
		return ""
	}
	start := time.Now()
	r := child()
	if !strings.HasPrefix(r, "locked") {
		t.Errorf("child opening a held store: %s", r)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("child took %v to report the lock", el)
	}
	// In this process too.
	if ds2, err := blogm.Open(ctx, dir); !errors.Is(err, datastore.ErrLocked) {
		if err == nil {
			ds2.Close(ctx)
		}
		t.Errorf("second Open in the same process: %v, want ErrLocked", err)
	}
	// Once closed, the child opens it and sees the data.
	must(t, ds.Close(ctx))
	if r := child(); r != "opened, 1 posts, <nil>" {
		t.Errorf("child after Close: %s", r)
	}
}

// TestE2ECloseDuringOperations closes the store while goroutines read and
// write: operations under way finish, later ones fail with ErrClosed, and
// nothing reaches Badger after it is closed (Badger panics then: queries
// running during Close used to crash the process with "DB Closed").
func TestE2ECloseDuringOperations(t *testing.T) {
	ctx := context.Background()
	ds, err := blogm.Open(ctx, t.TempDir())
	must(t, err)
	seedPosts(t, ds, 100, 14)
	var wg sync.WaitGroup
	var mu sync.Mutex
	other := map[string]int{}
	closedErrs := 0
	var succeeded atomic.Int64 // operations that returned without error
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch i % 6 {
				case 0:
					err = ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprintf("w%d.%d", w, i%50), Title: "t", BlogPostsID: ptr("b")})
				case 1:
					_, err = ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Order(post.Rating.Desc()).Limit(5).All(ctx)
				case 2:
					_, err = ds.Post.Get(ctx, "p001")
				case 3:
					err = ds.Batch(ctx, func(tx *blogm.Tx) error {
						if _, err := tx.Post.Query().Count(ctx); err != nil {
							return err
						}
						return tx.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("batch", w), Title: "t"})
					})
				case 4:
					_, err = ds.Post.DeleteWhere(ctx, post.ID.BeginsWith(fmt.Sprintf("w%d.1", w)))
				case 5:
					_, err = ds.Blog.QueryPosts(&blogm.Blog{ID: "ba"}).Count(ctx)
				}
				if err == nil {
					succeeded.Add(1)
					continue
				}
				mu.Lock()
				if errors.Is(err, datastore.ErrClosed) {
					closedErrs++
				} else {
					other[err.Error()]++
				}
				mu.Unlock()
				if errors.Is(err, datastore.ErrClosed) {
					return
				}
			}
		}()
	}
	snaps := ds.Post.ObserveQuery(ctx, ds.Post.Query().Where(post.Rating.Gt(2)))
	// Close amid traffic: wait until every kind of operation has run.
	waitUntil(t, "the workers' first 100 operations", func() bool { return succeeded.Load() >= 100 })
	done := make(chan error, 1)
	go func() { done <- ds.Close(ctx) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(hangGuard):
		t.Fatal("Close did not return")
	}
	wg.Wait()
	closed(t, snaps, "ObserveQuery after Close")
	if len(other) > 0 {
		t.Errorf("errors other than ErrClosed: %v", other)
	}
	if closedErrs != 8 {
		t.Errorf("%d goroutines stopped with ErrClosed, want 8", closedErrs)
	}
}

// TestE2EOtherSchema opens a store written with one schema through the
// generated package of another: Start fails with ErrSchemaChanged and the
// data stays readable with the schema that wrote it.
func TestE2EOtherSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "p", Title: "kept"}))
	must(t, ds.Close(ctx))

	other, err := relm.Open(ctx, dir)
	must(t, err)
	err = other.Start(ctx)
	if !errors.Is(err, datastore.ErrSchemaChanged) {
		t.Errorf("Start with another schema: %v, want ErrSchemaChanged", err)
	}
	checkPrefixOnce(t, "Start with another schema", err)
	if _, err := other.Book.Query().All(ctx); !errors.Is(err, datastore.ErrSchemaChanged) {
		t.Errorf("query with another schema: %v, want ErrSchemaChanged", err)
	}
	must(t, other.Close(ctx))

	ds, err = blogm.Open(ctx, dir)
	must(t, err)
	defer ds.Close(ctx)
	if p, err := ds.Post.Get(ctx, "p"); err != nil || p.Title != "kept" {
		t.Errorf("after opening with another schema: %v, %v", p, err)
	}
}

const crashEnv = "DSGEN_E2E_CRASH_DIR"

// TestE2ECrashChild is the child process of TestE2ECrash: it writes until
// it is killed.
func TestE2ECrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestE2ECrash")
	}
	ctx := context.Background()
	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	for _, id := range blogIDs {
		must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: id, Name: id}))
	}
	fmt.Println("WRITING")
	for i := 0; ; i++ {
		if i == 200 {
			fmt.Println("WROTE 200") // each returned, so each is committed
		}
		id := fmt.Sprint("p", i%500)
		b := blogIDs[i%len(blogIDs)]
		switch i % 7 {
		case 6:
			err = ds.Post.DeleteKey(ctx, id)
			if errors.Is(err, datastore.ErrNotFound) {
				err = nil
			}
		case 5:
			err = ds.Batch(ctx, func(tx *blogm.Tx) error {
				for j := range 20 {
					cid := fmt.Sprint("c", (i+j)%300)
					if err := tx.Post.Save(ctx, &blogm.Post{ID: cid, Title: "batch", BlogPostsID: &b, Rating: ptr(j)}); err != nil {
						return err
					}
					if err := tx.Comment.Save(ctx, &blogm.Comment{ID: cid + ".c", Content: "c", PostCommentsID: &cid}); err != nil {
						return err
					}
				}
				return nil
			})
		default:
			err = ds.Post.Save(ctx, &blogm.Post{ID: id, Title: "t", BlogPostsID: &b, Rating: ptr(i % 9)})
		}
		must(t, err)
	}
}

// TestE2ECrash kills a process that is writing and reopens its store: the
// writes that made it are whole, records and index entries together.
func TestE2ECrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestE2ECrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	// Kill the child once it has committed a few hundred writes, whatever
	// the time that takes, and while it is writing more.
	lines := bufio.NewScanner(out)
	var said []string
	for lines.Scan() && !strings.HasPrefix(lines.Text(), "WROTE") {
		said = append(said, lines.Text())
	}
	if !strings.HasPrefix(lines.Text(), "WROTE") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child stopped before writing: %q", said)
	}
	must(t, cmd.Process.Kill())
	cmd.Wait()

	ds, err := blogm.Open(ctx, dir)
	must(t, err)
	defer ds.Close(ctx)
	all, err := ds.Post.Query().All(ctx)
	must(t, err)
	if len(all) == 0 {
		t.Fatal("no posts survived")
	}
	for _, b := range blogIDs {
		byIndex, err := ds.Post.Query().Where(post.BlogPostsID.Eq(b)).All(ctx)
		must(t, err)
		want := bruteForce(all, post.BlogPostsID.Eq(b), func(a, b *blogm.Post) int { return strings.Compare(a.ID, b.ID) })
		if d := diffKeys(sortedKeys(byIndex, postKey), keysOf(want, postKey)); d != "" {
			t.Errorf("blog %q after a crash: index vs records: %s", b, d)
		}
	}
	// Batches are whole: every batch post has its comment.
	for _, p := range all {
		if p.Title != "batch" {
			continue
		}
		if n, err := ds.Post.QueryComments(p).Count(ctx); n != 1 || err != nil {
			t.Errorf("post %s of a batch has %d comments, %v", p.ID, n, err)
		}
	}
	sorted, err := ds.Post.Query().Order(post.BlogPostsID.Desc(), post.Rating.Asc()).Limit(20).All(ctx)
	must(t, err)
	want := pageOf(bruteForce(all, predicate.All[blogm.Post](), func(a, b *blogm.Post) int { return strings.Compare(a.ID, b.ID) }, post.BlogPostsID.Desc(), post.Rating.Asc()), 20, 0)
	if d := diffKeys(keysOf(sorted, postKey), keysOf(want, postKey)); d != "" {
		t.Errorf("sorted through the index after a crash: %s", d)
	}
	t.Logf("%d posts after the crash", len(all))
}

// TestE2ERestartWhileBusy stops, starts and clears the store while other
// goroutines query and write. A restart used to reload the table and index
// ids into the engine that those operations were reading (a data race under
// -race).
func TestE2ERestartWhileBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: "b"}))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if _, err := ds.Post.Query().Where(post.BlogPostsID.Eq("b")).Order(post.Rating.Asc()).Limit(3).All(ctx); err != nil {
					t.Error(err)
					return
				}
				if err := ds.Post.Save(ctx, &blogm.Post{ID: fmt.Sprint("w", w, ".", i%20), Title: "t", Rating: ptr(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 20 {
		must(t, ds.Stop(ctx))
		must(t, ds.Start(ctx))
		must(t, ds.Clear(ctx))
	}
	stop.Store(true)
	wg.Wait()
	// Still consistent: the index finds what a scan finds.
	must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: "b", Name: "b"}))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "last", Title: "t", BlogPostsID: ptr("b")}))
	got, err := ds.Post.Query().Where(post.BlogPostsID.Eq("b")).All(ctx)
	if err != nil || len(got) != 1 || got[0].ID != "last" {
		t.Errorf("after restarts: %v, %v", keysOf(got, postKey), err)
	}
}
