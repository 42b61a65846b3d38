// Package dynamo moves the data of an Amplify AppSync API between its
// DynamoDB tables and a `dsgen serve` store: Import reads the DynamoDB
// JSON of the tables (a table export to S3, or `aws dynamodb scan`
// output), one table per model, and loads it keeping each record's key,
// _version, _lastChangedAt, _deleted and _ttl; Export writes a store back
// in the table export's line format, one file per model.
//
// An import ends by setting the store's import epoch: every sync whose
// lastSync is before it gets a base sync, so clients that last synced
// against AppSync (whose change log did not come along) start over from
// the imported base table, and their pending mutations, stamped with the
// versions AppSync gave them, meet the imported versions and go through
// the model's conflict strategy like any stale write.
//
// Imported records go to the base table only: they are not in the change
// log and are not published to subscribers (the base sync brings them).
// AppSync stores AWSJSON values parsed (M, L, N, ...): they become the
// field's JSON text, and an S is a JSON string. A live item's _ttl (AppSync
// sets it on deletes only) is not kept. Export reads the store page by
// page, not from one snapshot: export a store no server is writing to.
package dynamo

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// loadBatch is how many records one store.Bulk.Load call writes.
const loadBatch = 2000

// ImportOptions configure Import.
type ImportOptions struct {
	// Merge allows importing into a store that holds records: an imported
	// record replaces a stored one of the same key only when its _version
	// is higher; every other stored record is kept. Without Merge a store
	// holding any record of the schema's models is refused (ErrNotEmpty).
	Merge bool
	// DropUnknown drops attributes that are no field of the model (fields
	// since removed from the schema) instead of failing on them.
	DropUnknown bool
	// Cutover, when later than the import, is the epoch instead: every
	// lastSync before it gets a base sync, also one a client got from
	// AppSync after the import (clients still switching over) or from
	// dsgen serve before the cutover, which then costs a base sync more.
	Cutover time.Time
}

// ModelReport counts one model's import.
type ModelReport struct {
	Model string
	// Items read, Tombstones among them; Written to the store, Kept
	// (merge: the stored version was the same or newer).
	Items, Tombstones, Written, Kept int
}

// ImportReport says what Import did.
type ImportReport struct {
	Models []ModelReport
	// Epoch is the import epoch (epoch ms): a lastSync before it gets a
	// base sync.
	Epoch int64
}

// Import loads tables into st. It reads every file twice: first to check
// every item (nothing is written when any is bad: the error names the
// file, line and attribute), then to load them. A key given twice is an
// error. Without opts.Merge the store must hold no record of the schema's
// models.
func Import(ctx context.Context, s *meta.Schema, st store.Bulk, tables []Table, opts ImportOptions) (ImportReport, error) {
	tables = mergeTables(tables)
	convs := make(map[string]*converter, len(tables))
	for _, t := range tables {
		m := s.Model(t.Model)
		if m == nil {
			return ImportReport{}, fmt.Errorf("%w: %s (from %s); the schema's models are %s; name the model with --table MODEL=PATH",
				ErrNoModel, t.Model, strings.Join(t.Files, ", "), modelNames(s))
		}
		convs[t.Model] = newConverter(s, m, opts.DropUnknown)
	}
	var rep ImportReport
	var maxLCA int64
	for _, t := range tables {
		mr, lca, err := check(ctx, convs[t.Model], t)
		if err != nil {
			return ImportReport{}, err
		}
		maxLCA = max(maxLCA, lca)
		rep.Models = append(rep.Models, mr)
	}
	if !opts.Merge {
		if err := checkEmpty(ctx, s, st); err != nil {
			return ImportReport{}, err
		}
	}
	for i, t := range tables {
		if err := load(ctx, convs[t.Model], st, t, opts.Merge, &rep.Models[i]); err != nil {
			return rep, fmt.Errorf("%w (records of the files before this one are stored; once the cause is fixed, import again with --merge: records already stored are kept)", err)
		}
	}
	var cutover int64
	if !opts.Cutover.IsZero() {
		cutover = opts.Cutover.UnixMilli()
	}
	epoch, err := st.MarkImport(ctx, maxLCA, cutover)
	if err != nil {
		return rep, err
	}
	rep.Epoch = epoch
	return rep, nil
}

// mergeTables joins tables of the same model, so a key given in two of
// its files is found before anything is written.
func mergeTables(tables []Table) []Table {
	var out []Table
	at := map[string]int{}
	for _, t := range tables {
		if i, ok := at[t.Model]; ok {
			out[i].Files = append(out[i].Files, t.Files...)
			continue
		}
		at[t.Model] = len(out)
		out = append(out, Table{Model: t.Model, Files: append([]string(nil), t.Files...)})
	}
	return out
}

func modelNames(s *meta.Schema) string {
	names := make([]string, 0, len(s.Models))
	for _, m := range s.Models {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// check converts every item of t without writing, and finds keys given
// twice.
func check(ctx context.Context, c *converter, t Table) (ModelReport, int64, error) {
	mr := ModelReport{Model: t.Model}
	var maxLCA int64
	seen := map[string]string{} // key JSON -> file:line
	for _, file := range t.Files {
		err := eachItem(file, func(line int, raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, err := convertAt(c, file, line, raw)
			if err != nil {
				return err
			}
			k, _ := json.Marshal(rec.Key)
			if prev, dup := seen[string(k)]; dup {
				return &InputError{File: file, Line: line, Err: fmt.Errorf("%s key %s is also at %s", t.Model, k, prev)}
			}
			seen[string(k)] = fmt.Sprintf("%s:%d", file, line)
			mr.Items++
			if rec.Deleted {
				mr.Tombstones++
			}
			maxLCA = max(maxLCA, rec.LastChangedAt)
			return nil
		})
		if err != nil {
			return mr, 0, err
		}
	}
	return mr, maxLCA, nil
}

// convertAt converts one item, placing an error at file:line.
func convertAt(c *converter, file string, line int, raw []byte) (store.Loaded, error) {
	item, err := decodeItem(raw)
	if err == nil {
		var rec store.Loaded
		if rec, err = c.record(item); err == nil {
			return rec, nil
		}
	}
	ie := &InputError{File: file, Line: line, Err: err}
	if ae := (*attrError)(nil); errors.As(err, &ae) {
		ie.Attr, ie.Err = ae.path, ae.err
	}
	return store.Loaded{}, ie
}

// checkEmpty refuses a store holding any record of s's models.
func checkEmpty(ctx context.Context, s *meta.Schema, st store.Store) error {
	for _, m := range s.Models {
		p, err := st.Scan(ctx, m.Name, nil, 1)
		if err != nil {
			return err
		}
		if len(p.Records) > 0 {
			return fmt.Errorf("%w: it holds %s records; import with --merge to keep them and add the imported ones (a stored record with the same key is replaced only by a higher _version)", ErrNotEmpty, m.Name)
		}
	}
	return nil
}

// load writes t's items to st in batches.
func load(ctx context.Context, c *converter, st store.Bulk, t Table, merge bool, mr *ModelReport) error {
	batch := make([]store.Loaded, 0, loadBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		stats, err := st.Load(ctx, t.Model, batch, merge)
		if err != nil {
			return err
		}
		mr.Written += stats.Written
		mr.Kept += stats.Kept
		batch = batch[:0]
		return nil
	}
	for _, file := range t.Files {
		err := eachItem(file, func(line int, raw []byte) error {
			rec, err := convertAt(c, file, line, raw)
			if err != nil {
				return err
			}
			batch = append(batch, rec)
			if len(batch) == loadBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return fmt.Errorf("loading %s: %w", file, err)
		}
	}
	return nil
}

// ExportOptions configure Export.
type ExportOptions struct {
	// Models to export (default: every model of the schema).
	Models []string
	// Suffix is added to each model name to make the file name, as AppSync
	// names tables: "-<apiId>-<env>" writes Post-<apiId>-<env>.json.
	Suffix string
}

// Export writes each model's records, tombstones included, to
// dir/<Model><Suffix>.json in the line format of a DynamoDB table export
// ({"Item": {...}} per line), in key order, and returns the files. Import
// of the files gives back the same records (a tombstone's expiry to the
// second, as AppSync's _ttl holds it).
func Export(ctx context.Context, s *meta.Schema, st store.Bulk, dir string, opts ExportOptions) ([]string, error) {
	models := opts.Models
	if len(models) == 0 {
		for _, m := range s.Models {
			models = append(models, m.Name)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dynamo: export: %w", err)
	}
	var files []string
	for _, name := range models {
		m := s.Model(name)
		if m == nil {
			return files, fmt.Errorf("%w: %s; the schema's models are %s", ErrNoModel, name, modelNames(s))
		}
		file := filepath.Join(dir, name+opts.Suffix+".json")
		if err := exportModel(ctx, newConverter(s, m, false), st, file); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	return files, nil
}

// exportModel writes one model's file, through a temporary file renamed
// into place once complete.
func exportModel(ctx context.Context, c *converter, st store.Bulk, file string) (err error) {
	tmp := file + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("dynamo: export: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var cursor []byte
	for {
		page, err := st.Dump(ctx, c.model.Name, cursor, loadBatch)
		if err != nil {
			return fmt.Errorf("dynamo: export %s: %w", c.model.Name, err)
		}
		for _, r := range page.Records {
			item, err := c.item(r)
			if err != nil {
				return fmt.Errorf("dynamo: export %s %v: %w", c.model.Name, r.Key, err)
			}
			if err := enc.Encode(map[string]any{"Item": item}); err != nil {
				return fmt.Errorf("dynamo: export %s: %w", c.model.Name, err)
			}
		}
		if page.Next == nil {
			break
		}
		cursor = page.Next
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("dynamo: export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("dynamo: export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("dynamo: export: %w", err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return fmt.Errorf("dynamo: export: %w", err)
	}
	return nil
}
