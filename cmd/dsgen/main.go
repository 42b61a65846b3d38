// Command dsgen generates typed Go DataStore packages from Amplify GraphQL
// schemas.
//
//	dsgen generate --schema schema.graphql --out ./model
//	dsgen serve --schema schema.graphql --api-key da2-local
//	dsgen migrate --schema schema.graphql [--check | --init]
//	dsgen version (or dsgen --version, dsgen -v)
//
// Exit status: 0 on success, 1 when the schema is invalid or generation
// fails, 2 on a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/gen"
	"github.com/dsgen/dsgen/internal/schema"
)

const usage = `dsgen generates typed Go DataStore packages from Amplify GraphQL schemas.

Usage:
  dsgen <command> [flags]

Commands:
  generate   generate the Go package for a schema
  serve      serve an AppSync-compatible sync backend for a schema
  migrate    lock the schema and plan migrations of stored data (--check for CI)
  init       start a project: dsgen.yml, a starter schema, the go:generate line
  inspect    show a local store: models, records, outbox, dead letters, sync state
  token      print a development JWT signed with dsgen serve's HS256 secret
  version    print the dsgen version (also --version, -v)

Run "dsgen <command> --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "generate":
		err = generate(args[1:], stdout, stderr)
	case "serve":
		err = serveCmd(args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(args[1:], stdout, stderr)
	case "init":
		err = initCmd(args[1:], stdout, stderr)
	case "inspect":
		err = inspectCmd(args[1:], stdout, stderr)
	case "token":
		err = tokenCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version", "-v":
		err = version(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "dsgen: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var schemaErrs schema.Errors
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &schemaErrs):
		fmt.Fprintln(stderr, schemaErrs.Error())
		fmt.Fprintf(stderr, "dsgen: %d schema error(s)\n", len(schemaErrs))
		return 1
	default:
		fmt.Fprintf(stderr, "dsgen: %v\n", err)
		return 1
	}
}

// newFlags returns a flag set that reports errors as usage errors.
func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dsgen %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, mapping failures to errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "dsgen %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// listFlag is a repeatable flag (--directive a --directive b, or a,b).
type listFlag = config.List

// Each command's settings: see config.Command.
var (
	generateSettings = config.Command{Name: "generate", Needs: []string{"schema", "out"}}
	migrateSettings  = config.Command{Name: "migrate", CLIOnly: []string{"check", "init"}, Needs: []string{"schema", "out"}}
	serveSettings    = config.Command{Name: "serve", Section: "serve", CLIOnly: []string{"print-schema"}}
)

const generateSummary = `Generates a Go package (models, typed predicates, repositories, schema
metadata) from a GraphQL schema. The first run writes the schema's lock
(dsgen.lock.json); once it exists, a schema that changed since it is refused
until dsgen migrate has written the migration.

Every flag not given on the command line is read from the environment as
DSGEN_GENERATE_<FLAG>, else from the top level of dsgen.yml (schema, out,
package, importPath, introspection, directives; the nearest dsgen.yml in the
current directory or above, or --config). When the command line and the
environment name both the schema and the output directory, only --config
makes generate read a file.`

func generate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", generateSummary, stderr)
	var opts gen.Options
	var directives listFlag
	fs.StringVar(&opts.Schema, "schema", "", "schema `file` or directory of *.graphql files")
	fs.StringVar(&opts.Out, "out", "", "output `directory` of the generated package")
	fs.StringVar(&opts.Package, "package", "", "Go package `name` (default: the output directory's name)")
	fs.StringVar(&opts.ImportPath, "import-path", "", "import `path` of the output directory (default: from go.mod)")
	fs.StringVar(&opts.Introspection, "introspection", "", "also write Amplify model introspection JSON to `file`")
	fs.StringVar(&opts.Lock, "lock", "", "schema lock `file` (default: dsgen.lock.json next to the schema)")
	fs.StringVar(&opts.Migrations, "migrations", "", "migration files' `directory` (default: migrations next to the schema)")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	fs.StringVar(&opts.CacheDir, "cache", "", "`directory` of the cache that lets a re-run with unchanged inputs skip its work (default: dsgen/generate in the user cache directory; off: none)")
	fs.String("config", "", "settings `file` (default: the nearest dsgen.yml in the current directory or above)")
	quiet := fs.Bool("q", false, "print nothing on success")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := config.Load(fs, generateSettings, os.LookupEnv); err != nil {
		return err
	}
	opts.Directives = directives
	if opts.Schema == "" || opts.Out == "" {
		fmt.Fprintln(stderr, "dsgen generate: --schema and --out are required (or set schema and out in dsgen.yml)")
		fs.Usage()
		return errUsage
	}
	opts.Warn = func(err error) { fmt.Fprintf(stderr, "warning: %v\n", err) }
	res, err := gen.Run(opts)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(stdout, "dsgen: %d file(s) written, %d unchanged, %d removed\n", len(res.Written), res.Unchanged, len(res.Removed))
		if res.Lock != "" {
			fmt.Fprintf(stdout, "dsgen: wrote the schema's first lock, %s: commit it with the schema\n", res.Lock)
		}
	}
	return nil
}

func version(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "Prints the dsgen module version and the Go version it was built with.", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	v, goVersion := "(devel)", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if info.Main.Version != "" {
			v = info.Main.Version
		}
	}
	fmt.Fprintf(stdout, "dsgen %s (%s)\n", v, goVersion)
	return nil
}
