package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/templates/names"
)

// Options are the inputs of one `dsgen migrate` run.
type Options struct {
	// Schema is the schema file or directory of *.graphql files.
	Schema string
	// Lock is the lock's path; "" means LockFile next to the schema (see
	// Paths). Migration files go to MigrationsDir next to the schema.
	Lock string
	// Out is the model package's directory, where conversion placeholders
	// go; "" when unknown (a plan that needs one is then refused).
	Out string
	// Package is the placeholders' Go package name; "" means the name
	// generate gives a package in Out (names.Package).
	Package string
	// Directives are custom directives accepted and ignored.
	Directives []string
	// Init writes the schema's first lock.
	Init bool
	// Check only reports: an error when the schema changed since the lock
	// or a placeholder is left in Out.
	Check bool
	// Stdout receives the plan and what was written; Stderr, warnings and
	// the conversions left to write. Nil discards.
	Stdout, Stderr io.Writer
}

// Paths returns the lock file and the migrations directory of a schema:
// lock and migrations when set, else LockFile and MigrationsDir next to the
// schema (in its directory, or in schemaPath itself when it is one).
func Paths(schemaPath, lock, migrations string) (string, string) {
	base := filepath.Dir(schemaPath)
	if st, err := os.Stat(schemaPath); err == nil && st.IsDir() {
		base = schemaPath
	}
	if lock == "" {
		lock = filepath.Join(base, LockFile)
	}
	if migrations == "" {
		migrations = filepath.Join(base, MigrationsDir)
	}
	return lock, migrations
}

// run is one migrate run's state once the schema and lock are loaded.
type run struct {
	Options
	srcs   []schema.Source
	s      *meta.Schema
	migDir string
	prev   *Lock // the lock on disk; nil when there is none
}

// Run runs `dsgen migrate`: with Init it writes the schema's first lock;
// with Check it reports pending changes and placeholders; otherwise it
// plans the change since the lock, writes it as the next migration file,
// moves the lock forward and, when a step needs a conversion only the
// developer can write, writes the placeholders into Out.
func Run(opts Options) error {
	if opts.Schema == "" {
		return errors.New("migrate: a schema is required")
	}
	if opts.Init && opts.Check {
		return errors.New("migrate: Init and Check exclude each other")
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Package == "" && opts.Out != "" {
		abs, err := filepath.Abs(opts.Out)
		if err != nil {
			return err
		}
		opts.Package = names.Package(abs)
	}
	r := &run{Options: opts}
	var err error
	if r.srcs, err = schema.ReadPath(opts.Schema); err != nil {
		return err
	}
	if r.s, err = schema.Load(r.srcs, schema.Options{Directives: opts.Directives}); err != nil {
		return err
	}
	r.Lock, r.migDir = Paths(opts.Schema, opts.Lock, "")
	if r.prev, err = LoadLock(r.Lock); err != nil {
		return err
	}
	if opts.Init {
		return r.init()
	}
	if r.prev == nil {
		return fmt.Errorf("migrate: no lock at %s; run dsgen generate (which writes the first one) or dsgen migrate --init", r.Lock)
	}
	renames, err := ReadRenames(r.srcs)
	if err != nil {
		return err
	}
	if r.prev, err = r.prev.ApplyRenames(renames); err != nil {
		return err
	}
	plan, err := Diff(r.prev, r.s)
	if err != nil {
		return err
	}
	if opts.Check {
		return r.check(plan)
	}
	return r.write(plan)
}

// init writes the first lock.
func (r *run) init() error {
	if r.prev != nil {
		return fmt.Errorf("migrate --init: %s already exists; run dsgen migrate to plan changes since it", r.Lock)
	}
	l, err := NewLock(r.s, nil)
	if err != nil {
		return err
	}
	if err := l.Write(r.Lock); err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "dsgen: locked %d model(s) at %s\n", len(l.Models), r.Lock)
	return nil
}

// check reports a pending plan or placeholders left to write, as errors.
func (r *run) check(plan *Plan) error {
	if !plan.Unchanged() {
		fmt.Fprintf(r.Stdout, "schema changed since %s (%d pending step(s)):\n", r.Lock, len(plan.Steps))
		printSteps(r.Stdout, plan)
		return errors.New("migrate --check: the schema changed without a migration; run dsgen migrate")
	}
	if r.Out == "" {
		fmt.Fprintln(r.Stderr, "dsgen migrate --check: no --out (or out in dsgen.yml): conversion placeholders not checked")
	} else {
		todos, err := PendingTodos(r.Out)
		if err != nil {
			return err
		}
		if len(todos) > 0 {
			for _, t := range todos {
				fmt.Fprintln(r.Stdout, t)
			}
			return fmt.Errorf("migrate --check: %d migration conversion(s) still to write (the lines above do not compile)", len(todos))
		}
	}
	fmt.Fprintln(r.Stdout, "dsgen: the schema matches the lock")
	return nil
}

// write writes plan as the next migration, moves the lock and writes the
// placeholders of the steps that need developer code.
func (r *run) write(plan *Plan) error {
	if plan.Unchanged() {
		fmt.Fprintln(r.Stdout, "dsgen: no change since the lock")
		return nil
	}
	printSteps(r.Stdout, plan)
	todos := plan.Todos()
	if len(todos) > 0 {
		// Check before writing anything, so a rerun starts clean.
		if err := r.placeholderFree(len(todos)); err != nil {
			return err
		}
	}
	mg, path, err := WriteMigration(r.migDir, r.prev, plan)
	if err != nil {
		return err
	}
	next, err := NewLock(r.s, r.prev)
	if err != nil {
		return err
	}
	next.Migration = mg.Number
	if err := next.Write(r.Lock); err != nil {
		return err
	}
	fmt.Fprintf(r.Stdout, "dsgen: wrote %s and updated %s\n", path, r.Lock)
	if len(todos) == 0 {
		return nil
	}
	cite := filepath.ToSlash(filepath.Join(MigrationsDir, filepath.Base(path)))
	ph, err := WritePlaceholders(r.Out, mg, r.s, r.Package, cite)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.Stderr, "dsgen: %d step(s) need a conversion you write: %s has a placeholder function for each; the package does not build until you write them:\n", len(todos), ph)
	for _, st := range mg.Steps {
		if st.Func != "" {
			fmt.Fprintf(r.Stderr, "  - %s: %s\n", st.Func, st.Todo)
		}
	}
	return nil
}

// placeholderFree checks that the next migration's placeholder file can be
// written: Out is known and holds no file of that name.
func (r *run) placeholderFree(todos int) error {
	if r.Out == "" {
		return fmt.Errorf("migrate: %d step(s) need a conversion you write; pass --out DIR (the model package's directory, or set out in dsgen.yml) so dsgen can put the Go placeholders there", todos)
	}
	n, err := NextNumber(r.migDir, r.prev)
	if err != nil {
		return err
	}
	ph := filepath.Join(r.Out, PlaceholderFile(n))
	if _, err := os.Stat(ph); err == nil {
		return fmt.Errorf("migrate: %s already exists and is never overwritten; move it away, then run dsgen migrate again", ph)
	}
	return nil
}

func printSteps(w io.Writer, p *Plan) {
	for i, s := range p.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, s)
	}
}
