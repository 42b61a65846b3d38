package templates_test

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/gen"
)

// TestCorpusCompiles generates a package for every valid shared schema and
// the 10- and 100-model synthetic schemas into one module and type-checks
// every generated package in process with go/types, against the export data
// of the runtime packages from one `go list -export`: a generated package
// that does not compile (an unused import or variable included) fails the
// test with the compiler's message. The checks of go vet that depend on
// the schema (struct tags, fmt calls) run on every package in process too;
// the full go vet runs on a few generated packages that between them use
// every runtime function, type and method the corpus's generated code
// uses, so a template construct vet objects to shows there.
func TestCorpusCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and type-checks every corpus package")
	}
	shared, err := filepath.Abs("../../shared/schemas")
	if err != nil {
		t.Fatal(err)
	}
	schemas, _ := filepath.Glob(filepath.Join(shared, "valid", "*.graphql"))
	if len(schemas) == 0 {
		t.Skipf("no shared corpus at %s (the schemas of ../shared next to the repository)", shared)
	}
	schemas = append(schemas, filepath.Join(shared, "synthetic", "synth10.graphql"), filepath.Join(shared, "synthetic", "synth100.graphql"))
	v1, _ := filepath.Glob(filepath.Join(shared, "v1", "*.graphql")) // transformer v1 schemas
	schemas = append(schemas, v1...)

	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	writeModule(t, mod, root)

	start := time.Now()
	unsafe := regexp.MustCompile(`[^a-z0-9]+`)
	var dirs []string // the generated model packages, relative to mod
	var wg sync.WaitGroup
	limit := make(chan struct{}, runtime.GOMAXPROCS(0)) // schemas generated at once
	for _, s := range schemas {
		name := strings.TrimSuffix(filepath.Base(s), ".graphql")
		dir := "m_" + unsafe.ReplaceAllString(strings.ToLower(name), "_")
		opts := gen.Options{Schema: s, Out: filepath.Join(mod, dir), Package: "model", ImportPath: "corpus/" + dir,
			Lock: filepath.Join(t.TempDir(), "dsgen.lock.json"), CacheDir: "off"} // never into the shared corpus
		if name == "api-custom-transformers-simple-custom-model" {
			opts.Directives = []string{"simple"}
		}
		dirs = append(dirs, dir)
		limit <- struct{}{}
		wg.Go(func() {
			defer func() { <-limit }()
			if _, err := gen.Run(opts); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	generated := time.Now()
	c := newCorpusChecker(t, root, mod)
	uses := map[string]map[string]bool{} // package -> the objects outside the corpus it uses
	var errs []string
	for _, dir := range dirs {
		for _, path := range c.under("corpus/" + dir) {
			p := c.check(path)
			errs = append(errs, p.errs...)
			uses[path] = map[string]bool{}
			for _, obj := range p.info.Uses {
				if vetRelevant(obj) {
					uses[path][objectKey(obj)] = true
				}
			}
		}
	}
	if len(errs) > 0 {
		const most = 30 // a broken template breaks every schema
		if len(errs) > most {
			errs = append(errs[:most], fmt.Sprintf("... and %d more", len(errs)-most))
		}
		t.Fatalf("the generated corpus does not compile or fails a vet check:\n%s", strings.Join(errs, "\n"))
	}

	// go vet, on a few packages that between them use all the runtime API
	// the corpus's generated code uses.
	checked := time.Now()
	subset := coverUses(slices.Sorted(maps.Keys(uses)), uses)
	args := []string{"vet"}
	for _, path := range subset {
		args = append(args, "./"+strings.TrimPrefix(path, "corpus/"))
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = mod
	cmd.Env = offlineEnv("mod") // the module is a throwaway
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the generated packages %s: %v\n%s", strings.Join(subset, ", "), err, out)
	}
	t.Logf("generated %d packages in %v, type-checked them in %v; go vet of %s in %v",
		len(c.files), generated.Sub(start).Round(time.Millisecond), checked.Sub(generated).Round(time.Millisecond),
		strings.Join(subset, ", "), time.Since(checked).Round(time.Millisecond))
}

// offlineEnv is the environment of the go commands the test runs: nothing
// is downloaded (the module cache already holds what this module's own
// build needed), a go.work around the checkout is not used, and the
// user's GOFLAGS give way to -mod=<mod>.
func offlineEnv(mod string) []string {
	return append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod="+mod)
}

// corpusChecker type-checks the generated packages of a module, importing
// the packages of dsgen and the standard library from their export data,
// which all checks share.
type corpusChecker struct {
	t       *testing.T
	fset    *token.FileSet
	files   map[string][]*ast.File // every package of the module, parsed, by import path
	checked map[string]*checkedPkg // by import path; nil while being checked
	gc      types.ImporterFrom     // everything outside the module
	conf    types.Config           // shared settings; Importer is the checker
}

// checkedPkg is the outcome of type-checking one generated package.
type checkedPkg struct {
	pkg  *types.Package
	info *types.Info
	errs []string // type errors and vet findings, with positions
}

// newCorpusChecker parses the module at mod, whose path is "corpus", and
// gets the export data of what it imports from the module at root.
func newCorpusChecker(t *testing.T, root, mod string) *corpusChecker {
	t.Helper()
	c := &corpusChecker{t: t, fset: token.NewFileSet(), files: map[string][]*ast.File{}, checked: map[string]*checkedPkg{}}
	imports := map[string]bool{}
	err := filepath.WalkDir(mod, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(c.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(mod, filepath.Dir(path))
		if err != nil {
			return err
		}
		ip := "corpus/" + filepath.ToSlash(rel)
		c.files[ip] = append(c.files[ip], f)
		for _, spec := range f.Imports {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil && !isCorpus(p) {
				imports[p] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("parse the generated corpus: %v", err)
	}
	exports := exportData(t, root, slices.Sorted(maps.Keys(imports)))
	c.gc = importer.ForCompiler(c.fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q in go list's answer", path)
		}
		return os.Open(file)
	}).(types.ImporterFrom)
	c.conf = types.Config{Importer: c, Sizes: types.SizesFor("gc", runtime.GOARCH), GoVersion: goVersion(t, root)}
	return c
}

// exportData returns the export data files of pkgs and all their
// dependencies, from `go list -export` in the module at root. The go
// command builds what its cache lacks, offline.
func exportData(t *testing.T, root string, pkgs []string) map[string]string {
	t.Helper()
	args := append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = offlineEnv("readonly") // never touch the checkout's go.mod
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export of the packages generated code imports: %v\n%s", err, stderr.Bytes())
	}
	exports := map[string]string{}
	for line := range strings.Lines(string(out)) {
		path, file, _ := strings.Cut(strings.TrimSpace(line), "\t")
		if file != "" {
			exports[path] = file
		}
	}
	return exports
}

// goVersion returns the language version of the module at root.
func goVersion(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s/go.mod has no go directive", root)
	}
	return "go" + string(m[1])
}

// isCorpus says whether path is a generated package.
func isCorpus(path string) bool {
	return path == "corpus" || strings.HasPrefix(path, "corpus/")
}

// under returns the import paths of the packages at and below prefix,
// sorted.
func (c *corpusChecker) under(prefix string) []string {
	var out []string
	for p := range c.files {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Import implements types.Importer.
func (c *corpusChecker) Import(path string) (*types.Package, error) {
	return c.ImportFrom(path, "", 0)
}

// ImportFrom implements types.ImporterFrom: generated packages are
// type-checked from source, once, everything else comes from export data.
func (c *corpusChecker) ImportFrom(path, dir string, mode types.ImportMode) (*types.Package, error) {
	if !isCorpus(path) {
		return c.gc.ImportFrom(path, dir, mode)
	}
	if _, ok := c.files[path]; !ok {
		return nil, fmt.Errorf("generated code imports %q, which was not generated", path)
	}
	return c.check(path).pkg, nil
}

// check type-checks the generated package path (and, first, the generated
// packages it imports) and runs the in-process vet checks on it.
func (c *corpusChecker) check(path string) *checkedPkg {
	if p, ok := c.checked[path]; ok {
		if p == nil {
			c.t.Fatalf("import cycle through %s", path)
		}
		return p
	}
	c.checked[path] = nil
	p := &checkedPkg{info: &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{},
		Defs:  map[*ast.Ident]types.Object{},
		Uses:  map[*ast.Ident]types.Object{},
	}}
	conf := c.conf
	conf.Error = func(err error) { p.errs = append(p.errs, err.Error()) }
	p.pkg, _ = conf.Check(path, c.fset, c.files[path], p.info) // errors went to conf.Error
	if len(p.errs) == 0 {
		p.errs = append(p.errs, vetStructTags(c.fset, p.info)...)
		p.errs = append(p.errs, vetPrintf(c.fset, c.files[path], p.info)...)
	}
	c.checked[path] = p
	return p
}

// vetRelevant says whether generated code's use of obj makes a package
// worth vetting: the functions and types outside the generated code,
// save those of runtime/meta, which the generated schema metadata (plain
// data, keyed literals) uses according to the schema's features.
func vetRelevant(obj types.Object) bool {
	switch obj.(type) {
	case *types.Func, *types.TypeName:
	default:
		return false // fields and constants
	}
	p := obj.Pkg()
	return p != nil && !isCorpus(p.Path()) && p.Path() != "github.com/dsgen/dsgen/runtime/meta"
}

// objectKey names a function, method or type, for the vet subset's
// coverage.
func objectKey(obj types.Object) string {
	key := obj.Pkg().Path() + "." + obj.Name()
	if f, ok := obj.(*types.Func); ok {
		f = f.Origin() // not the method of a generic type instantiated with generated types
		if recv := f.Signature().Recv(); recv != nil {
			key = types.TypeString(recv.Type(), nil) + "." + f.Name()
		}
	}
	return key
}

// coverUses picks, greedily, packages that between them use every object
// any of them uses: each time the one that uses the most objects not yet
// used, the first in pkgs on a tie.
func coverUses(pkgs []string, uses map[string]map[string]bool) []string {
	left := map[string]bool{}
	for _, u := range uses {
		for k := range u {
			left[k] = true
		}
	}
	var picked []string
	for len(left) > 0 {
		best, most := "", 0
		for _, p := range pkgs {
			n := 0
			for k := range uses[p] {
				if left[k] {
					n++
				}
			}
			if n > most {
				best, most = p, n
			}
		}
		picked = append(picked, best)
		for k := range uses[best] {
			delete(left, k)
		}
	}
	slices.Sort(picked)
	return picked
}

// vetStructTags is go vet's structtag check: every struct tag is a
// well-formed list of key:"value" pairs, and no two fields of a struct
// have the same json name.
func vetStructTags(fset *token.FileSet, info *types.Info) []string {
	var errs []string
	for id, obj := range info.Defs {
		tn, ok := obj.(*types.TypeName)
		if !ok {
			continue
		}
		st, ok := tn.Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		seen := map[string]string{}
		for i := range st.NumFields() {
			tag := st.Tag(i)
			if err := validateTag(tag); err != nil {
				errs = append(errs, fmt.Sprintf("%s: struct %s field %s: tag %q: %v", fset.Position(id.Pos()), tn.Name(), st.Field(i).Name(), tag, err))
				continue
			}
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if other, dup := seen[name]; dup {
				errs = append(errs, fmt.Sprintf("%s: struct %s: fields %s and %s both have json name %q", fset.Position(id.Pos()), tn.Name(), other, st.Field(i).Name(), name))
			}
			seen[name] = st.Field(i).Name()
		}
	}
	return errs
}

// validateTag checks the conventional struct tag syntax that
// reflect.StructTag.Get relies on.
func validateTag(tag string) error {
	for tag != "" {
		i := 0
		for i < len(tag) && tag[i] == ' ' {
			i++
		}
		tag = tag[i:]
		if tag == "" {
			return nil
		}
		i = 0
		for i < len(tag) && tag[i] > ' ' && tag[i] != ':' && tag[i] != '"' && tag[i] != 0x7f {
			i++
		}
		if i == 0 || i+1 >= len(tag) || tag[i] != ':' || tag[i+1] != '"' {
			return errors.New("not key:\"value\" pairs")
		}
		tag = tag[i+1:]
		i = 1
		for i < len(tag) && tag[i] != '"' {
			if tag[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(tag) {
			return errors.New("unterminated value")
		}
		if _, err := strconv.Unquote(tag[:i+1]); err != nil {
			return fmt.Errorf("bad quoted value: %w", err)
		}
		tag = tag[i+1:]
		if tag != "" && tag[0] != ' ' {
			return errors.New("pairs not separated by spaces")
		}
	}
	return nil
}

// vetPrintf is the core of go vet's printf check for the fmt functions
// generated code calls: a constant format whose verbs match the
// arguments in number and kind, %w only in Errorf and given an error.
func vetPrintf(fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var errs []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			fn, ok := info.Uses[sel.Sel].(*types.Func)
			if !ok || fn.Pkg() == nil || fn.Pkg().Path() != "fmt" {
				return true
			}
			first := map[string]int{"Errorf": 0, "Sprintf": 0, "Printf": 0, "Fprintf": 1, "Appendf": 1}
			at, ok := first[fn.Name()]
			if !ok || call.Ellipsis.IsValid() || len(call.Args) <= at {
				return true
			}
			if err := checkFormat(fn.Name(), info, call.Args[at], call.Args[at+1:]); err != nil {
				errs = append(errs, fmt.Sprintf("%s: fmt.%s: %v", fset.Position(call.Pos()), fn.Name(), err))
			}
			return true
		})
	}
	return errs
}

// checkFormat checks one fmt call's format against its arguments. It
// reads flags, width and precision but not * or explicit argument
// indexes ([n]), which generated code does not use: they fail the check
// as unknown verbs.
func checkFormat(fn string, info *types.Info, format ast.Expr, args []ast.Expr) error {
	tv := info.Types[format]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		return errors.New("format is not a constant")
	}
	s := constant.StringVal(tv.Value)
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		i++
		for i < len(s) && strings.IndexByte("+-# 0123456789.", s[i]) >= 0 {
			i++
		}
		if i == len(s) {
			return fmt.Errorf("format %q ends in a %%", s)
		}
		verb := s[i]
		if verb == '%' {
			continue
		}
		if n >= len(args) {
			return fmt.Errorf("format %q wants more than %d arguments", s, len(args))
		}
		if err := verbFits(fn, verb, info.Types[args[n]].Type); err != nil {
			return fmt.Errorf("format %q, argument %d: %w", s, n+1, err)
		}
		n++
	}
	if n != len(args) {
		return fmt.Errorf("format %q has %d verbs for %d arguments", s, n, len(args))
	}
	return nil
}

// verbFits says whether an argument of type typ suits verb.
func verbFits(fn string, verb byte, typ types.Type) error {
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	isErr := types.Implements(typ, errType)
	basic, _ := typ.Underlying().(*types.Basic)
	is := func(info types.BasicInfo) bool { return basic != nil && basic.Info()&info != 0 }
	stringer := isErr || hasMethod(typ, "String") || hasMethod(typ, "Format")
	ok := false
	switch verb {
	case 'v', 'T':
		ok = true
	case 'w':
		if fn != "Errorf" {
			return errors.New("%w outside fmt.Errorf")
		}
		ok = isErr
	case 'd', 'c', 'U', 'b', 'o', 'O':
		ok = is(types.IsInteger) || hasMethod(typ, "Format")
	case 's', 'q':
		ok = is(types.IsString) || stringer || isBytes(typ) || verb == 'q' && is(types.IsInteger)
	case 'x', 'X':
		ok = is(types.IsString|types.IsInteger|types.IsFloat|types.IsComplex) || stringer || isBytes(typ)
	case 't':
		ok = is(types.IsBoolean)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		ok = is(types.IsFloat|types.IsComplex) || hasMethod(typ, "Format")
	case 'p':
		_, ptr := typ.Underlying().(*types.Pointer)
		ok = ptr
	default:
		return fmt.Errorf("unknown verb %%%c", verb)
	}
	if !ok {
		return fmt.Errorf("%%%c given a value of type %s", verb, typ)
	}
	return nil
}

func hasMethod(typ types.Type, name string) bool {
	obj, _, _ := types.LookupFieldOrMethod(typ, true, nil, name)
	_, ok := obj.(*types.Func)
	return ok
}

func isBytes(typ types.Type) bool {
	s, ok := typ.Underlying().(*types.Slice)
	if !ok {
		return false
	}
	b, ok := s.Elem().Underlying().(*types.Basic)
	return ok && b.Kind() == types.Byte
}

// writeModule makes dir a module that uses this checkout of dsgen.
func writeModule(t *testing.T, dir, root string) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(string(gomod), "module github.com/dsgen/dsgen", "module corpus", 1)
	body += "\nrequire github.com/dsgen/dsgen v0.0.0\n\nreplace github.com/dsgen/dsgen => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}
