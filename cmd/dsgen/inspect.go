package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/inspect"
	"github.com/dsgen/dsgen/runtime/meta"
)

const inspectSummary = `Shows what a local store (the directory an app gives model.Open) holds:
its models with record counts and sync state (lastSync, last full sync, the
selective-sync expression), schema version and migration state, the outbox
in send order and the dead letters with their errors; with --model, the
model's records with _version, _lastChangedAt and _deleted.

  dsgen inspect ./data
  dsgen inspect ./data --model Post --limit 50
  dsgen inspect ./data --json | jq .outbox

The store is opened read-only; nothing in DIR is written. While an app has
it open, Badger lets no reader in, so a copy of its files is read instead
(taken at that moment; --no-copy refuses instead, --copy always copies).
Records are decoded with the schema of dsgen.yml (or --schema) and its
lock, else with the field layout the store keeps.`

var inspectSettings = config.Command{Name: "inspect", CLIOnly: []string{"json", "model", "limit", "copy", "no-copy", "stored-layout"}}

// readKey reads an encryption key file: the raw key, or its hex text.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inspect: encryption key: %w", err)
	}
	if h := strings.TrimSpace(string(b)); len(h) == 32 || len(h) == 48 || len(h) == 64 {
		if k, err := hex.DecodeString(h); err == nil {
			return k, nil
		}
	}
	return b, nil
}

func inspectCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect DIR", inspectSummary, stderr)
	var directives listFlag
	schemaPath := fs.String("schema", "", "schema `file` or directory decoding the records (default: schema from dsgen.yml, else the store's own layout)")
	fs.Var(&directives, "directive", "accept and ignore a custom transformer directive `name` (repeatable)")
	fs.String("config", "", "settings `file` (default: the nearest dsgen.yml in the current directory or above)")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	model := fs.String("model", "", "print the records of this `model`")
	limit := fs.Int("limit", 20, "print at most this many records (0: all)")
	always := fs.Bool("copy", false, "always read a copy of the store")
	never := fs.Bool("no-copy", false, "fail instead of copying a store another process has open")
	stored := fs.Bool("stored-layout", false, "decode with the layout the store keeps, ignoring dsgen.yml")
	keyFile := fs.String("encryption-key-file", "", "`file` holding the key of an encrypted store: 16, 24 or 32 raw bytes, or them in hex")
	// DIR may come before the flags or after them.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return parseErr(err)
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
		_ = fs.Parse(fs.Args()[1:])
	}
	if dir == "" || fs.NArg() > 0 || (*always && *never) {
		fmt.Fprintln(stderr, "dsgen inspect: give one store directory (and at most one of --copy and --no-copy)")
		fs.Usage()
		return errUsage
	}
	var s *meta.Schema
	if !*stored {
		if _, err := config.Load(fs, inspectSettings, os.LookupEnv); err != nil {
			return err
		}
		if *schemaPath != "" {
			var err error
			if s, err = inspect.LoadSchema(*schemaPath, directives); err != nil {
				return err
			}
		}
	}
	o := inspect.Options{Schema: s}
	if *keyFile != "" {
		var err error
		if o.EncryptionKey, err = readKey(*keyFile); err != nil {
			return err
		}
	}
	switch {
	case *always:
		o.Copy = inspect.CopyAlways
	case *never:
		o.Copy = inspect.CopyNever
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, err := inspect.Open(ctx, dir, o)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Snapshot != "" && st.Why != "--copy" {
		fmt.Fprintf(stderr, "dsgen inspect: reading a copy of %s taken now: %s\n", dir, st.Why)
	}
	if *model != "" {
		recs, err := st.Records(ctx, *model, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, map[string]any{"model": *model, "records": recs})
		}
		return st.WriteRecords(stdout, *model, recs, *limit)
	}
	sum, err := st.Summary(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, sum)
	}
	return st.WriteSummary(stdout, sum)
}

// parseErr maps a flag parse failure to errUsage (help stays help).
func parseErr(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return errUsage
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
