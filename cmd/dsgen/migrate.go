package main

import (
	"fmt"
	"io"
	"os"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/migrate"
)

const migrateSummary = `Compares the schema with its lock (dsgen.lock.json, next to the schema) and
writes the migration of stored data as migrations/NNNN_<slug>.json, then
moves the lock forward. When a step needs a conversion only you can write
(a changed field type, a field made required, a removed enum value), it also
writes <out>/migration_NNNN.go with one placeholder function per step: the
package does not build until you write them. --init writes the first lock;
--check only reports (exit 1 when the schema changed since the lock or a
placeholder is left in the out directory).

Every flag but --check and --init not given on the command line is read
from the environment as DSGEN_MIGRATE_<FLAG>, else from the top level of
dsgen.yml (schema, out, package, directives), as dsgen generate reads them.`

func migrateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", migrateSummary, stderr)
	opts := migrate.Options{Stdout: stdout, Stderr: stderr}
	var directives listFlag
	fs.StringVar(&opts.Schema, "schema", "", "schema `file` or directory of *.graphql files (default: from dsgen.yml)")
	fs.StringVar(&opts.Lock, "lock", "", "lock `file` (default: dsgen.lock.json next to the schema)")
	fs.StringVar(&opts.Out, "out", "", "the model package's `directory`, where conversion placeholders go (default: out from dsgen.yml)")
	fs.StringVar(&opts.Package, "package", "", "Go package `name` of the placeholders (default: package from dsgen.yml, else as generate derives it)")
	fs.BoolVar(&opts.Check, "check", false, "report pending changes and placeholders and exit 1 if there are any; write nothing")
	fs.BoolVar(&opts.Init, "init", false, "write the first lock of the schema")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	fs.String("config", "", "settings `file` (default: the nearest dsgen.yml in the current directory or above)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if opts.Check && opts.Init {
		fmt.Fprintln(stderr, "dsgen migrate: --check and --init exclude each other")
		fs.Usage()
		return errUsage
	}
	if _, err := config.Load(fs, migrateSettings, os.LookupEnv); err != nil {
		return err
	}
	opts.Directives = directives
	if opts.Schema == "" {
		fmt.Fprintln(stderr, "dsgen migrate: --schema is required (or set schema in dsgen.yml)")
		fs.Usage()
		return errUsage
	}
	return migrate.Run(opts)
}
