package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dsgen/dsgen/runtime/meta"
)

// maxCell bounds a table cell; --json prints whole values.
const maxCell = 48

// WriteSummary writes sum as text: where the store is and what read it,
// its schema and migration state, then tables of the models, the outbox
// and the dead letters.
func (s *Store) WriteSummary(w io.Writer, sum *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "store      %s\n", s.Dir)
	if s.Snapshot != "" {
		fmt.Fprintf(&b, "read from  a copy taken at %s (%s)\n", time.Now().UTC().Format(time.RFC3339), s.Why)
	}
	fmt.Fprintf(&b, "schema     version %s, migration %d\n", orDash(sum.SchemaVersion), sum.Migration)
	if s.FromStore {
		b.WriteString("decoded    with the layout stored in the store (field numbers by position; give --schema after migrations)\n")
	}
	if sum.SchemaMismatch != "" {
		fmt.Fprintf(&b, "warning    %s\n", sum.SchemaMismatch)
	}
	if sum.Migrating != nil {
		js, _ := json.Marshal(sum.Migrating)
		fmt.Fprintf(&b, "migration  UNDER WAY (the next start of the app resumes it): %s\n", js)
	} else {
		b.WriteString("migration  none under way\n")
	}
	if _, err := io.WriteString(w, b.String()+"\n"); err != nil {
		return err
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tRECORDS\tLAST SYNC\tLAST FULL SYNC\tSYNC EXPRESSION\tSYNC UNDER WAY")
	for _, m := range sum.Models {
		under := "-"
		if m.Sync.SyncStartedAt != nil {
			kind := "delta"
			if m.Sync.SyncFull {
				kind = "full"
			}
			under = fmt.Sprintf("%s sync started %s", kind, millis(m.Sync.SyncStartedAt))
		}
		expr := "- (all records)"
		if m.Sync.LastSyncPredicate != nil && *m.Sync.LastSyncPredicate != "null" {
			expr = cell(*m.Sync.LastSyncPredicate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", m.Name, m.Records, millis(m.Sync.LastSync), millis(m.Sync.LastFullSync), expr, under)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nOUTBOX: %d mutation(s), in send order\n", len(sum.Outbox))
	if len(sum.Outbox) > 0 {
		fmt.Fprintln(tw, "SEQ\tMODEL\tOP\tKEY\tMERGED WRITES\tATTEMPTS\tSTATE\tENQUEUED\tCONDITION\tDATA")
		for _, e := range sum.Outbox {
			state := "waiting"
			if e.InFlight {
				state = "in flight"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", e.Seq, e.Model, e.Op, jsonCell(e.Key), e.Rev+1, e.Attempts, state,
				millis(&e.Enqueued), condCell(e.Condition), jsonCell(e.Data))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nDEAD LETTERS: %d\n", len(sum.DeadLetters))
	if len(sum.DeadLetters) > 0 {
		fmt.Fprintln(tw, "SEQ\tMODEL\tOP\tKEY\tFAILED\tERROR\tDATA")
		for _, d := range sum.DeadLetters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Seq, d.Model, d.Op, jsonCell(d.Key), millis(&d.Failed), d.Reason, jsonCell(d.Data))
		}
	}
	return tw.Flush()
}

// WriteRecords writes recs of model as a table: the stored fields, then
// the sync metadata (_version, _lastChangedAt, _deleted) and whether an
// outbox entry for the record waits. limit is the limit recs were read
// with (0: none), so a cut list says so.
func (s *Store) WriteRecords(w io.Writer, model string, recs []Record, limit int) error {
	m := s.schema.Model(model)
	if m == nil {
		return fmt.Errorf("inspect: no model %q", model)
	}
	var cols []string
	for _, f := range m.Fields {
		if f.Kind != meta.KindModel {
			cols = append(cols, f.Name)
		}
	}
	if limit > 0 && len(recs) == limit {
		fmt.Fprintf(w, "%s: the first %d record(s) in key order (--limit 0 lists all)\n", model, len(recs))
	} else {
		fmt.Fprintf(w, "%s: %d record(s)\n", model, len(recs))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t_version\t_lastChangedAt\t_deleted\tPENDING")
	for _, r := range recs {
		row := make([]string, 0, len(cols)+4)
		if r.Error != "" {
			fmt.Fprintf(tw, "key %x: cannot decode: %s\n", r.Key, cell(r.Error))
			continue
		}
		for _, c := range cols {
			v, ok := r.Values[c]
			switch {
			case !ok || v == nil:
				row = append(row, "null")
			case isString(v):
				row = append(row, cell(v.(string)))
			default:
				row = append(row, jsonCell(v))
			}
		}
		if r.Sync != nil {
			row = append(row, fmt.Sprint(r.Sync.Version), millis(&r.Sync.LastChangedAt), fmt.Sprint(r.Sync.Deleted))
		} else {
			row = append(row, "-", "-", "-")
		}
		pending := ""
		if r.Pending {
			pending = "yes"
		}
		fmt.Fprintln(tw, strings.Join(append(row, pending), "\t"))
	}
	return tw.Flush()
}

func isString(v any) bool { _, ok := v.(string); return ok }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// millis formats a time in ms since the epoch, "-" for none.
func millis(ms *int64) string {
	if ms == nil || *ms == 0 {
		return "-"
	}
	return time.UnixMilli(*ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func jsonCell(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return cell(string(b))
}

func condCell(c map[string]any) string {
	if len(c) == 0 {
		return "-"
	}
	return jsonCell(c)
}

// cell shortens s to one table cell: one line, at most maxCell runes.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxCell {
		return string(r[:maxCell-1]) + "…"
	}
	return s
}
