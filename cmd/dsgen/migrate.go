package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dsgen/dsgen/internal/gen"
	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
)

func migrateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", `Compares the schema with its lock (dsgen.lock.json, next to the schema) and
writes the migration of stored data as migrations/NNNN_<slug>.json, then
moves the lock forward. When a step needs a conversion only you can write
(a changed field type, a field made required, a removed enum value), it also
writes <out>/migration_NNNN.go with one placeholder function per step: the
package does not build until you write them. --init writes the first lock;
--check only reports (exit 1 when the schema changed since the lock or a
placeholder is left in the out directory).`, stderr)
	var directives listFlag
	schemaPath := fs.String("schema", "", "schema `file` or directory of *.graphql files (default: from dsgen.yml)")
	lockPath := fs.String("lock", "", "lock `file` (default: dsgen.lock.json next to the schema)")
	out := fs.String("out", "", "the model package's `directory`, where conversion placeholders go (default: out from dsgen.yml)")
	pkg := fs.String("package", "", "Go package `name` of the placeholders (default: package from dsgen.yml, else as generate derives it)")
	check := fs.Bool("check", false, "report pending changes and placeholders and exit 1 if there are any; write nothing")
	initLock := fs.Bool("init", false, "write the first lock of the schema")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *check && *initLock {
		fmt.Fprintln(stderr, "dsgen migrate: --check and --init exclude each other")
		fs.Usage()
		return errUsage
	}
	if *schemaPath == "" || *out == "" {
		cfgPath, err := gen.FindConfig(".")
		if err != nil {
			return err
		}
		if cfgPath != "" {
			cfg, err := gen.LoadConfig(cfgPath)
			if err != nil {
				return err
			}
			if *schemaPath == "" {
				*schemaPath = cfg.Schema
			}
			if *out == "" {
				*out = cfg.Out
			}
			if *pkg == "" {
				*pkg = cfg.Package
			}
			if len(directives) == 0 {
				directives = cfg.Directives
			}
		}
	}
	if *schemaPath == "" {
		fmt.Fprintln(stderr, "dsgen migrate: --schema is required (or set schema in dsgen.yml)")
		fs.Usage()
		return errUsage
	}
	if *pkg == "" && *out != "" {
		abs, err := filepath.Abs(*out)
		if err != nil {
			return err
		}
		*pkg = gen.PackageName(abs)
	}

	srcs, err := schema.ReadPath(*schemaPath)
	if err != nil {
		return err
	}
	s, err := schema.Load(srcs, schema.Options{Directives: directives})
	if err != nil {
		return err
	}
	var migDir string
	*lockPath, migDir = gen.Paths(gen.Options{Schema: *schemaPath, Lock: *lockPath})

	prev, err := migrate.LoadLock(*lockPath)
	if err != nil {
		return err
	}
	if *initLock {
		if prev != nil {
			return fmt.Errorf("migrate --init: %s already exists; run dsgen migrate to plan changes since it", *lockPath)
		}
		l, err := migrate.NewLock(s, nil)
		if err != nil {
			return err
		}
		if err := l.Write(*lockPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dsgen: locked %d model(s) at %s\n", len(l.Models), *lockPath)
		return nil
	}
	if prev == nil {
		return fmt.Errorf("migrate: no lock at %s; run dsgen generate (which writes the first one) or dsgen migrate --init", *lockPath)
	}
	renames, err := migrate.ReadRenames(srcs)
	if err != nil {
		return err
	}
	prev, err = prev.ApplyRenames(renames)
	if err != nil {
		return err
	}
	plan, err := migrate.Diff(prev, s)
	if err != nil {
		return err
	}

	if *check {
		if !plan.Unchanged() {
			fmt.Fprintf(stdout, "schema changed since %s (%d pending step(s)):\n", *lockPath, len(plan.Steps))
			printSteps(stdout, plan)
			return errors.New("migrate --check: the schema changed without a migration; run dsgen migrate")
		}
		if *out == "" {
			fmt.Fprintln(stderr, "dsgen migrate --check: no --out (or out in dsgen.yml): conversion placeholders not checked")
		} else {
			todos, err := migrate.PendingTodos(*out)
			if err != nil {
				return err
			}
			if len(todos) > 0 {
				for _, t := range todos {
					fmt.Fprintln(stdout, t)
				}
				return fmt.Errorf("migrate --check: %d migration conversion(s) still to write (the lines above do not compile)", len(todos))
			}
		}
		fmt.Fprintln(stdout, "dsgen: the schema matches the lock")
		return nil
	}

	if plan.Unchanged() {
		fmt.Fprintln(stdout, "dsgen: no change since the lock")
		return nil
	}
	printSteps(stdout, plan)
	todos := plan.Todos()
	if len(todos) > 0 {
		// Check before writing anything, so a rerun starts clean.
		if *out == "" {
			return fmt.Errorf("migrate: %d step(s) need a conversion you write; pass --out DIR (the model package's directory, or set out in dsgen.yml) so dsgen can put the Go placeholders there", len(todos))
		}
		n, err := migrate.NextNumber(migDir, prev)
		if err != nil {
			return err
		}
		ph := filepath.Join(*out, migrate.PlaceholderFile(n))
		if _, err := os.Stat(ph); err == nil {
			return fmt.Errorf("migrate: %s already exists and is never overwritten; move it away, then run dsgen migrate again", ph)
		}
	}
	mg, path, err := migrate.WriteMigration(migDir, prev, plan)
	if err != nil {
		return err
	}
	next, err := migrate.NewLock(s, prev)
	if err != nil {
		return err
	}
	next.Migration = mg.Number
	if err := next.Write(*lockPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dsgen: wrote %s and updated %s\n", path, *lockPath)
	if len(todos) == 0 {
		return nil
	}
	cite := filepath.ToSlash(filepath.Join(migrate.MigrationsDir, filepath.Base(path)))
	ph, err := migrate.WritePlaceholders(*out, mg, s, *pkg, cite)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dsgen: %d step(s) need a conversion you write: %s has a placeholder function for each; the package does not build until you write them:\n", len(todos), ph)
	for _, st := range mg.Steps {
		if st.Func != "" {
			fmt.Fprintf(stderr, "  - %s: %s\n", st.Func, st.Todo)
		}
	}
	return nil
}

func printSteps(w io.Writer, p *migrate.Plan) {
	for i, s := range p.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, s)
	}
}
