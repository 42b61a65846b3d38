package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/serve/launch"
)

const importSummary = `Loads the DynamoDB tables behind an Amplify AppSync API into the store of
dsgen serve (--data DIR or --store postgres://...), keeping each record's
key, _version, _lastChangedAt, _deleted and _ttl, owner fields and
timestamps. Input is DynamoDB JSON, gzip'ed or not: a table export to S3
(a downloaded export directory holding manifest-summary.json, or its
data/*.json.gz files) or "aws dynamodb scan --output json" output, one
table per model. A file or export is mapped to the model named before the
first "-" of its table name (Post-<apiId>-<env>); --table MODEL=PATH names
it explicitly. Flags go before the paths.

Every item is checked before anything is written; a bad one is reported
as file:line and attribute. An import into a store holding records is
refused unless --merge. Clients whose last sync is older than the import
get a base sync; their pending mutations meet the imported _version as
any stale write does (the model's conflict strategy). The store must not
be served meanwhile when it is a --data directory.`

const exportSummary = `Writes the store of dsgen serve as DynamoDB JSON in the line format of a
DynamoDB table export ({"Item": {...}} per line), one file per model:
OUT/<Model><suffix>.json, tombstones and sync metadata included. dsgen
serve import reads the files back unchanged.`

// transferSettings reads the serve settings as serve does (DSGEN_SERVE_*
// and the serve: section of dsgen.yml); the flags of import and export
// only from the command line.
var transferSettings = config.Command{Name: "serve", Section: "serve",
	CLIOnly: []string{"table", "merge", "drop-unknown", "cutover", "out", "suffix", "model"}}

// serveTransfer runs `dsgen serve import|export`.
func serveTransfer(sub string, args []string, stdout, stderr io.Writer) error {
	summary := importSummary
	if sub == "export" {
		summary = exportSummary
	}
	fs := newFlags("serve "+sub, summary, stderr)
	o := launch.TransferOptions{Stdout: stdout}
	// Every serve flag is defined, so that the settings serve reads from
	// DSGEN_SERVE_* and dsgen.yml are valid here too; the ones that matter
	// are copied below and listed by --help.
	var so launch.Options
	serveFlags(fs, &so)
	shown := []string{"schema", "data", "store", "directive", "config"}
	if sub == "import" {
		shown = append(shown, "base-ttl", "table", "merge", "drop-unknown", "cutover")
		fs.Var((*listFlag)(&o.Tables), "table", "import the table at `MODEL=PATH` (file or export directory) as MODEL (repeatable)")
		fs.BoolVar(&o.Merge, "merge", false, "import into a store holding records: a stored record is replaced only by a higher _version")
		fs.BoolVar(&o.DropUnknown, "drop-unknown", false, "drop attributes that are no field of the model instead of failing")
		fs.StringVar(&o.Cutover, "cutover", "", "RFC 3339 `time` the clients switch by: every lastSync before it gets a base sync, also one from AppSync after the import")
	} else {
		shown = append(shown, "out", "suffix", "model")
		fs.StringVar(&o.Out, "out", "", "`directory` to write the files to (required)")
		fs.StringVar(&o.Suffix, "suffix", "", "file name `suffix` after the model name, e.g. -<apiId>-<env>")
		fs.Var((*listFlag)(&o.Models), "model", "export only this `model` (repeatable; default all)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dsgen serve %s [flags]%s\n\n%s\n\nFlags:\n", sub, map[bool]string{true: " PATH...", false: ""}[sub == "import"], summary)
		for _, name := range shown {
			f := fs.Lookup(name)
			kind, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(stderr, "  -%s %s\n    \t%s", f.Name, kind, strings.ReplaceAll(usage, "\n", "\n    \t"))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
				fmt.Fprintf(stderr, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(stderr)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	o.Paths = fs.Args()
	if sub == "export" && len(o.Paths) > 0 {
		return usageErr(fs, "export: unexpected argument %q", o.Paths[0])
	}
	if _, err := config.Load(fs, transferSettings, os.LookupEnv); err != nil {
		return err
	}
	if so.InMemory {
		return usageErr(fs, "%s: --in-memory: import and export need a store that persists (--data or --store)", sub)
	}
	o.Schema, o.Data, o.Store, o.Directives, o.BaseTTL = so.Schema, so.Data, so.Store, so.Directives, so.BaseTTL
	if o.Schema == "" {
		return usageErr(fs, "%s: --schema is required (or DSGEN_SERVE_SCHEMA, or schema in dsgen.yml)", sub)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run := launch.Import
	if sub == "export" {
		run = launch.Export
	}
	err := run(ctx, o)
	if oe := (*launch.OptionError)(nil); errors.As(err, &oe) {
		return usageErr(fs, "%s: %s", sub, oe.Msg)
	}
	if err != nil {
		return fmt.Errorf("serve %s: %w", sub, err)
	}
	return nil
}
