package gen

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Three models: Blog has Posts, Tag stands alone.
const cacheV1 = `type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model { id: ID! title: String! blog: Blog @belongsTo }
type Tag @model { id: ID! label: String! }
`

// cacheV2 adds a field to Tag.
const cacheV2 = `type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model { id: ID! title: String! blog: Blog @belongsTo }
type Tag @model { id: ID! label: String! color: String }
`

// cacheV3 removes Tag.
const cacheV3 = `type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model { id: ID! title: String! blog: Blog @belongsTo }
`

// old is a modification time no run of the test can produce: a file that
// still has it was not written.
var old = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// cacheSetup generates cacheV1 with introspection and returns the options
// of the run, every output file's mtime set to old.
func cacheSetup(t *testing.T) Options {
	t.Helper()
	dir := t.TempDir()
	opts := Options{
		Schema:        filepath.Join(dir, "schema.graphql"),
		Introspection: filepath.Join(dir, "introspection.json"),
	}
	write(t, opts.Schema, cacheV1)
	if _, err := run(t, opts); err != nil {
		t.Fatal(err)
	}
	for _, p := range outputs(t, dir) {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return opts
}

// outputs lists the generated files under dir: the package and the
// introspection JSON.
func outputs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "introspection.json") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// touched returns the files under dir, relative to it, whose mtime is no
// longer old.
func touched(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range outputs(t, dir) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(old) {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	slices.Sort(out)
	return out
}

func TestRerunWritesNothing(t *testing.T) {
	opts := cacheSetup(t)
	dir := filepath.Dir(opts.Schema)
	for i := range 2 {
		res, err := run(t, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Written) != 0 || len(res.Removed) != 0 || res.Unchanged != 8 {
			t.Errorf("re-run %d: wrote %v, removed %v, %d unchanged; want nothing written and 8 unchanged", i, res.Written, res.Removed, res.Unchanged)
		}
		if got := touched(t, dir); len(got) != 0 {
			t.Errorf("re-run %d changed the mtimes of %v", i, got)
		}
	}
	// The same with the cache off: the files' content is compared.
	opts.CacheDir = "off"
	if res, err := run(t, opts); err != nil || len(res.Written) != 0 {
		t.Fatalf("re-run without cache: %v, wrote %v", err, res.Written)
	}
	if got := touched(t, dir); len(got) != 0 {
		t.Errorf("re-run without cache changed the mtimes of %v", got)
	}
}

func TestOneModelChangeRewritesDependents(t *testing.T) {
	opts := cacheSetup(t)
	dir := filepath.Dir(opts.Schema)
	write(t, opts.Schema, cacheV2)
	migrateSchema(t, opts.Schema)
	res, err := run(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	// Tag's files, the schema's metadata (it describes every model) and
	// the introspection JSON; not Blog's, Post's or the DataStore wiring.
	want := []string{"introspection.json", "model/schema.go", "model/tag.go", "model/tag/tag.go"}
	if got := touched(t, dir); !slices.Equal(got, want) {
		t.Errorf("rewrote %v, want %v", got, want)
	}
	if len(res.Written) != len(want) {
		t.Errorf("Result.Written %v, want %d files", res.Written, len(want))
	}
	if !strings.Contains(read(t, filepath.Join(dir, "model", "tag.go")), "Color *string") {
		t.Error("tag.go lacks the new field")
	}
}

func TestRemovedModelFilesDeleted(t *testing.T) {
	opts := cacheSetup(t)
	dir := filepath.Dir(opts.Schema)
	write(t, opts.Schema, cacheV3)
	migrateSchema(t, opts.Schema)
	res, err := run(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"model/tag.go", "model/tag/tag.go", "model/tag"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s of the removed model is still there (%v)", p, err)
		}
	}
	if len(res.Removed) != 2 {
		t.Errorf("Result.Removed %v, want tag.go and tag/tag.go", res.Removed)
	}
	// Re-running the old schema's lock state is not possible (the lock
	// moved on); the next run has nothing to do.
	if res, err := run(t, opts); err != nil || len(res.Written)+len(res.Removed) != 0 {
		t.Errorf("run after removal: %v, wrote %v, removed %v", err, res.Written, res.Removed)
	}
}

func TestEditedOutputRegenerated(t *testing.T) {
	opts := cacheSetup(t)
	dir := filepath.Dir(opts.Schema)
	post := filepath.Join(dir, "model", "post.go")
	want := read(t, post)
	// A hand edit of the same length, with the old mtime put back: only
	// the content tells.
	write(t, post, strings.Replace(want, "Title", "Tit1e", 1))
	if err := os.Chtimes(post, old, old); err != nil {
		t.Fatal(err)
	}
	blog := filepath.Join(dir, "model", "blog", "blog.go")
	if err := os.Remove(blog); err != nil {
		t.Fatal(err)
	}
	intro := filepath.Join(dir, "introspection.json")
	write(t, intro, "{}")
	if err := os.Chtimes(intro, old, old); err != nil {
		t.Fatal(err)
	}

	res, err := run(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if read(t, post) != want {
		t.Error("the edited post.go was not regenerated")
	}
	if _, err := os.Stat(blog); err != nil {
		t.Errorf("the deleted blog/blog.go was not regenerated: %v", err)
	}
	wantTouched := []string{"introspection.json", "model/blog/blog.go", "model/post.go"}
	if got := touched(t, dir); !slices.Equal(got, wantTouched) {
		t.Errorf("rewrote %v, want %v", got, wantTouched)
	}
	if len(res.Written) != 3 {
		t.Errorf("Result.Written %v, want 3 files", res.Written)
	}
}

// TestCacheFollowsOptions: an option that changes the output is an input
// of the cache, so the files follow it.
func TestCacheFollowsOptions(t *testing.T) {
	opts := cacheSetup(t)
	dir := filepath.Dir(opts.Schema)
	opts.Package = "store"
	res, err := run(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 8 || !strings.Contains(read(t, filepath.Join(dir, "model", "post.go")), "package store") {
		t.Errorf("another package name rewrote %v", res.Written)
	}
}

// TestCachedRunRepeatsWarnings: a skipped run still tells about the
// schema's problems.
func TestCachedRunRepeatsWarnings(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Schema: filepath.Join(dir, "schema.graphql")}
	write(t, opts.Schema, `type Post @model { id: ID! tags: [Tag] }
type Tag @model { id: ID! }
`)
	for i := range 2 {
		var warnings []string
		opts.Warn = func(e error) { warnings = append(warnings, e.Error()) }
		if _, err := run(t, opts); err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], "Post.tags") {
			t.Errorf("run %d: warnings %q, want the one about Post.tags", i, warnings)
		}
	}
}

func TestGeneratorID(t *testing.T) {
	a, err := generatorID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generatorID()
	if err != nil || a != b || len(a) < 20 {
		t.Fatalf("generatorID: %q then %q, %v", a, b, err)
	}
	if runtime.GOOS == "linux" && !strings.HasPrefix(a, "build:") {
		t.Errorf("on Linux the build id is read from the ELF note, got %q", a)
	}
}

// TestSchemaErrorsBeforeImportPath: without a go.mod (and no import
// path given) a broken schema is still reported as such.
func TestSchemaErrorsBeforeImportPath(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Schema: filepath.Join(dir, "schema.graphql"), Out: filepath.Join(dir, "model"), CacheDir: filepath.Join(dir, "cache")}
	write(t, opts.Schema, "type Post @model { id: ID! author: Person }\n")
	_, err := Run(opts)
	if err == nil || !strings.Contains(err.Error(), "Person") {
		t.Fatalf("want the schema error about Person, got %v", err)
	}
	write(t, opts.Schema, cacheV1)
	if _, err := Run(opts); err == nil || !strings.Contains(err.Error(), "go.mod") {
		t.Fatalf("want the missing go.mod, got %v", err)
	}
}
