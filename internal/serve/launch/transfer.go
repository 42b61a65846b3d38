package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve/dynamo"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// TransferOptions are the settings of `dsgen serve import` and `dsgen
// serve export`: the schema and store as for serve, and what to move.
type TransferOptions struct {
	Schema     string
	Directives []string
	Data       string // Badger data directory; "" means DefaultDataDir
	Store      string // postgres:// URL instead of Data
	BaseTTL    time.Duration

	// Import: Paths are files or directories named after their tables
	// (Post-<apiId>-<env>...) or DynamoDB exports to S3; Tables are
	// MODEL=PATH pairs naming the model explicitly.
	Paths       []string
	Tables      []string
	Merge       bool
	DropUnknown bool
	// Cutover is an RFC 3339 time: when later than the import, every
	// lastSync before it gets a base sync (see dynamo.ImportOptions).
	Cutover string

	// Export: Out is the directory written; Suffix follows the model name
	// in each file name; Models limits the export (default: all).
	Out    string
	Suffix string
	Models []string

	Stdout io.Writer // the report; nil discards
}

// Import loads DynamoDB tables into the store (see dynamo.Import) and
// prints what it loaded.
func Import(ctx context.Context, o TransferOptions) error {
	tables, err := o.tables()
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return optionErr("nothing to import: give table files or directories, or --table MODEL=PATH")
	}
	iopts := dynamo.ImportOptions{Merge: o.Merge, DropUnknown: o.DropUnknown}
	if o.Cutover != "" {
		if iopts.Cutover, err = time.Parse(time.RFC3339, o.Cutover); err != nil {
			return optionErr("--cutover %q: want an RFC 3339 time such as 2026-12-03T10:00:00Z", o.Cutover)
		}
	}
	sch, st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := dynamo.Import(ctx, sch, st, tables, iopts)
	out := o.Stdout
	if out == nil {
		out = io.Discard
	}
	for _, m := range rep.Models {
		fmt.Fprintf(out, "%s: %d items (%d tombstones), %d written, %d kept\n", m.Model, m.Items, m.Tombstones, m.Written, m.Kept)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import epoch %d (%s): clients whose last sync is older get a base sync\n",
		rep.Epoch, time.UnixMilli(rep.Epoch).UTC().Format(time.RFC3339Nano))
	return nil
}

// Export writes the store's records as DynamoDB JSON (see dynamo.Export).
func Export(ctx context.Context, o TransferOptions) error {
	if o.Out == "" {
		return optionErr("--out is required: the directory the files are written to")
	}
	sch, st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	files, err := dynamo.Export(ctx, sch, st, o.Out, dynamo.ExportOptions{Models: o.Models, Suffix: o.Suffix})
	if o.Stdout != nil {
		for _, f := range files {
			fmt.Fprintln(o.Stdout, f)
		}
	}
	return err
}

// tables resolves Paths and Tables; an explicit MODEL=PATH names the
// model of every file under PATH.
func (o *TransferOptions) tables() ([]dynamo.Table, error) {
	tables, err := dynamo.Resolve(o.Paths)
	if err != nil {
		return nil, err
	}
	for _, t := range o.Tables {
		model, path, ok := strings.Cut(t, "=")
		if !ok || model == "" || path == "" {
			return nil, optionErr("--table %q: want MODEL=PATH", t)
		}
		ts, err := dynamo.Resolve([]string{path})
		if err != nil {
			return nil, err
		}
		for _, x := range ts {
			tables = append(tables, dynamo.Table{Model: model, Files: x.Files})
		}
	}
	return tables, nil
}

// open loads the schema and opens the store (which must not be served at
// the same time when it is a Badger directory: Badger locks it).
func (o *TransferOptions) open(ctx context.Context) (*meta.Schema, store.Bulk, error) {
	if o.Schema == "" {
		return nil, nil, optionErr("a schema is required")
	}
	sch, err := schema.LoadPath(o.Schema, schema.Options{Directives: o.Directives})
	if err != nil {
		return nil, nil, err
	}
	opts := store.Options{BaseTTL: o.BaseTTL}
	if o.Store != "" {
		if o.Data != "" {
			return nil, nil, optionErr("--store and --data exclude each other")
		}
		pg, err := store.OpenPostgres(ctx, o.Store, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		return sch, pg, nil
	}
	opts.Dir = o.Data
	if opts.Dir == "" {
		opts.Dir = DefaultDataDir
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		if errors.Is(err, storage.ErrLocked) {
			return nil, nil, fmt.Errorf("opening the data store %s: %w (stop the dsgen serve using it first)", opts.Dir, err)
		}
		return nil, nil, fmt.Errorf("opening the data store %s: %w", opts.Dir, err)
	}
	return sch, st, nil
}
