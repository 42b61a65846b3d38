package console

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

// Paging limits of /console/api/records.
const (
	defaultPage = 50
	maxPage     = 500
	// maxScanned bounds the records one request reads while filtering; the
	// page then ends early with a cursor to go on from.
	maxScanned = 20_000
	maxHistory = 1000
)

type modelInfo struct {
	Name        string      `json:"name"`
	PrimaryKey  []string    `json:"primaryKey"`
	Fields      []fieldInfo `json:"fields"`
	OwnerFields []string    `json:"ownerFields"`
	Strategy    string      `json:"strategy,omitempty"`
	JoinModel   bool        `json:"joinModel,omitempty"`
}

type fieldInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	List     bool   `json:"list,omitempty"`
	Required bool   `json:"required,omitempty"`
}

// ownerFields are the fields the model's owner rules name.
func ownerFields(m *meta.Model) []string {
	var out []string
	for _, r := range m.Auth {
		if r.Allow == "owner" && r.OwnerField != "" && !contains(out, r.OwnerField) {
			out = append(out, r.OwnerField)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (c *Console) serveModels(w http.ResponseWriter, r *http.Request) {
	out := make([]modelInfo, 0, len(c.cfg.Schema.Models))
	for _, m := range c.cfg.Schema.Models {
		mi := modelInfo{Name: m.Name, PrimaryKey: m.PrimaryKey.Fields(), OwnerFields: nonNil(ownerFields(m)), JoinModel: m.JoinModel}
		if c.cfg.Strategy != nil {
			mi.Strategy = c.cfg.Strategy(m.Name)
		}
		for _, f := range m.Fields {
			if !f.Stored() {
				continue
			}
			mi.Fields = append(mi.Fields, fieldInfo{Name: f.Name, Type: f.Type, List: f.IsList, Required: f.Required})
		}
		out = append(out, mi)
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
}

// record is a stored record as the console shows it.
type record struct {
	Key           []any          `json:"key"`
	Item          map[string]any `json:"item"`
	Version       int64          `json:"_version"`
	LastChangedAt int64          `json:"_lastChangedAt"`
	Deleted       bool           `json:"_deleted"`
	Owner         []string       `json:"owner"`
}

func (c *Console) toRecord(m *meta.Model, rec store.Record) record {
	out := record{Key: rec.Key, Item: rec.Item, Version: rec.Version, LastChangedAt: rec.LastChangedAt, Deleted: rec.Deleted, Owner: []string{}}
	for _, f := range ownerFields(m) {
		switch v := rec.Item[f].(type) {
		case string:
			out.Owner = append(out.Owner, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					out.Owner = append(out.Owner, s)
				}
			}
		}
	}
	return out
}

// recordFilter is what /console/api/records filters on.
type recordFilter struct {
	text    string // case-insensitive substring of the item's JSON
	owner   string // case-insensitive substring of an owner value
	deleted string // "any", "live" or "only"
}

func (f recordFilter) match(rec record) bool {
	switch {
	case f.deleted == "live" && rec.Deleted, f.deleted == "only" && !rec.Deleted:
		return false
	}
	if f.owner != "" {
		found := false
		for _, o := range rec.Owner {
			if strings.Contains(strings.ToLower(o), f.owner) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if f.text != "" {
		b, _ := json.Marshal(rec.Item)
		if !bytes.Contains(bytes.ToLower(b), []byte(f.text)) {
			return false
		}
	}
	return true
}

// serveRecords answers GET /console/api/records?model=M[&limit=N]
// [&cursor=C][&q=TEXT][&owner=TEXT][&deleted=any|live|only]: one page of
// the model's records in key order, tombstones included unless filtered,
// with "next" to go on from when more may follow.
func (c *Console) serveRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m, e := c.model(q.Get("model"))
	if e != nil {
		writeError(w, e)
		return
	}
	limit := defaultPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > maxPage {
			writeError(w, &Error{http.StatusBadRequest, fmt.Sprintf("limit %q: want a number from 1 to %d", s, maxPage)})
			return
		}
		limit = n
	}
	var cursor []byte
	if s := q.Get("cursor"); s != "" {
		var err error
		if cursor, err = base64.RawURLEncoding.DecodeString(s); err != nil {
			writeError(w, &Error{http.StatusBadRequest, "cursor: not one this console issued"})
			return
		}
	}
	f := recordFilter{text: strings.ToLower(q.Get("q")), owner: strings.ToLower(q.Get("owner")), deleted: q.Get("deleted")}
	switch f.deleted {
	case "":
		f.deleted = "any"
	case "any", "live", "only":
	default:
		writeError(w, &Error{http.StatusBadRequest, fmt.Sprintf("deleted %q: want any, live or only", f.deleted)})
		return
	}
	out := []record{}
	scanned := 0
	for {
		// Each read asks for no more than the page still needs, so the
		// store's cursor resumes exactly after the last record returned.
		page, err := c.cfg.Store.Scan(r.Context(), m.Name, cursor, limit-len(out))
		if errors.Is(err, store.ErrBadCursor) {
			writeError(w, &Error{http.StatusBadRequest, "cursor: not one this console issued for " + m.Name})
			return
		}
		if err != nil {
			writeError(w, &Error{http.StatusInternalServerError, fmt.Sprintf("reading %s: %v", m.Name, err)})
			return
		}
		scanned += len(page.Records)
		for _, rec := range page.Records {
			if cr := c.toRecord(m, rec); f.match(cr) {
				out = append(out, cr)
			}
		}
		cursor = page.Next
		if cursor == nil || len(out) == limit || scanned >= maxScanned {
			break
		}
	}
	resp := map[string]any{"model": m.Name, "records": out, "scanned": scanned}
	if cursor != nil {
		resp["next"] = base64.RawURLEncoding.EncodeToString(cursor)
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveHistory answers GET /console/api/history?model=M&key=[JSON array]:
// the record's changes still in the change log, oldest first.
func (c *Console) serveHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m, e := c.model(q.Get("model"))
	if e != nil {
		writeError(w, e)
		return
	}
	var key []any
	dec := json.NewDecoder(strings.NewReader(q.Get("key")))
	dec.UseNumber()
	if err := dec.Decode(&key); err != nil || len(key) == 0 {
		writeError(w, &Error{http.StatusBadRequest, fmt.Sprintf("key %q: want the primary key values as a JSON array, e.g. [\"id-1\"]", q.Get("key"))})
		return
	}
	for i, v := range key {
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				writeError(w, &Error{http.StatusBadRequest, fmt.Sprintf("key value %d: %v", i, err)})
				return
			}
			key[i] = f
		}
	}
	hr, ok := c.cfg.Store.(store.HistoryReader)
	if !ok {
		writeError(w, &Error{http.StatusNotImplemented, "this store engine keeps no per-record history"})
		return
	}
	changes, err := hr.History(r.Context(), m.Name, key, maxHistory)
	if errors.Is(err, store.ErrInvalidKey) {
		writeError(w, &Error{http.StatusBadRequest, err.Error()})
		return
	}
	if err != nil {
		writeError(w, &Error{http.StatusInternalServerError, fmt.Sprintf("reading the history of %s %v: %v", m.Name, key, err)})
		return
	}
	type entry struct {
		Seq uint64 `json:"seq"`
		Op  string `json:"op"`
		record
	}
	out := make([]entry, 0, len(changes))
	for _, ch := range changes {
		out = append(out, entry{Seq: ch.Seq, Op: ch.Op.String(), record: c.toRecord(m, ch.Record)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": m.Name, "key": key, "changes": out})
}

func (c *Console) model(name string) (*meta.Model, *Error) {
	if name == "" {
		return nil, &Error{http.StatusBadRequest, "model: required"}
	}
	m := c.byName[name]
	if m == nil {
		return nil, &Error{http.StatusNotFound, fmt.Sprintf("model %q is not in the schema", name)}
	}
	return m, nil
}
