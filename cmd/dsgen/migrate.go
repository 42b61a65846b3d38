package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/dsgen/dsgen/internal/gen"
	"github.com/dsgen/dsgen/internal/migrate"
	"github.com/dsgen/dsgen/internal/schema"
)

func migrateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", `Compares the schema with its lock (dsgen.lock.json, next to the schema) and
writes the migration of stored data as migrations/NNNN_<slug>.json, then
moves the lock forward. --init writes the first lock; --check only reports
(exit 1 when the schema changed since the lock or a migration has a todo).`, stderr)
	var directives listFlag
	schemaPath := fs.String("schema", "", "schema `file` or directory of *.graphql files (default: from dsgen.yml)")
	lockPath := fs.String("lock", "", "lock `file` (default: dsgen.lock.json next to the schema)")
	check := fs.Bool("check", false, "report pending changes and exit 1 if there are any; write nothing")
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
	if *schemaPath == "" {
		cfgPath, err := gen.FindConfig(".")
		if err != nil {
			return err
		}
		if cfgPath != "" {
			cfg, err := gen.LoadConfig(cfgPath)
			if err != nil {
				return err
			}
			*schemaPath = cfg.Schema
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

	srcs, err := schema.ReadPath(*schemaPath)
	if err != nil {
		return err
	}
	s, err := schema.Load(srcs, schema.Options{Directives: directives})
	if err != nil {
		return err
	}
	base := filepath.Dir(*schemaPath)
	if st, err := os.Stat(*schemaPath); err == nil && st.IsDir() {
		base = *schemaPath
	}
	if *lockPath == "" {
		*lockPath = filepath.Join(base, migrate.LockFile)
	}
	migDir := filepath.Join(base, migrate.MigrationsDir)

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
		return fmt.Errorf("migrate: no lock at %s; run dsgen migrate --init first", *lockPath)
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
		todos, err := migrate.PendingTodos(migDir)
		if err != nil {
			return err
		}
		if len(todos) > 0 {
			printTodos(stdout, todos)
			return fmt.Errorf("migrate --check: %d migration(s) still have a todo", len(todos))
		}
		fmt.Fprintln(stdout, "dsgen: the schema matches the lock")
		return nil
	}

	if plan.Unchanged() {
		fmt.Fprintln(stdout, "dsgen: no change since the lock")
		return nil
	}
	printSteps(stdout, plan)
	path, n, err := migrate.WriteMigration(migDir, prev, plan)
	if err != nil {
		return err
	}
	next, err := migrate.NewLock(s, prev)
	if err != nil {
		return err
	}
	next.Migration = n
	if err := next.Write(*lockPath); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dsgen: wrote %s and updated %s\n", path, *lockPath)
	if todos := plan.Todos(); len(todos) > 0 {
		fmt.Fprintf(stderr, "%s needs code you write:\n", path)
		for _, t := range todos {
			fmt.Fprintf(stderr, "  - %s\n", t.Todo)
		}
		fmt.Fprintln(stderr, "Go conversion placeholders are not generated yet (a later dsgen version will); until then answer in the schema if you can (e.g. @default) or remove the \"todo\" entry once your conversion is in place. dsgen migrate --check fails while a todo remains.")
		return fmt.Errorf("migrate: %s has %d step(s) needing developer code", path, len(todos))
	}
	return nil
}

func printSteps(w io.Writer, p *migrate.Plan) {
	for i, s := range p.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, s)
	}
}

func printTodos(w io.Writer, todos map[string][]string) {
	paths := make([]string, 0, len(todos))
	for p := range todos {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(w, "%s:\n", p)
		for _, t := range todos[p] {
			fmt.Fprintf(w, "  todo: %s\n", t)
		}
	}
}
