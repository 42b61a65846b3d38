package serve

import (
	"maps"
	"math"
	"sync"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// The sync metadata fields every model type carries.
const (
	fieldVersion     = "_version"
	fieldDeleted     = "_deleted"
	fieldLastChanged = "_lastChangedAt"
)

// output is a record as the API returns it: the item plus its metadata.
// _deleted is null for live items, as AppSync returns it.
func output(r store.Record) map[string]any {
	out := make(map[string]any, len(r.Item)+3)
	maps.Copy(out, r.Item)
	r.Item = out
	return outputOwned(r)
}

// outputOwned is output for a record the caller owns (one a store read
// decoded for this request, as every sync and list page is): it adds the
// metadata to r.Item itself instead of copying it, which a page of 1,000
// items would otherwise do 1,000 times.
func outputOwned(r store.Record) map[string]any {
	out := r.Item
	if out == nil {
		out = make(map[string]any, 3)
	}
	out[fieldVersion] = r.Version
	out[fieldLastChanged] = r.LastChangedAt
	if r.Deleted {
		out[fieldDeleted] = true
	} else {
		out[fieldDeleted] = nil
	}
	return out
}

// keyOf returns the primary key values of item, in key order.
func keyOf(m *meta.Model, item map[string]any) ([]any, error) {
	fields := m.PrimaryKey.Fields()
	key := make([]any, len(fields))
	for i, f := range fields {
		v, ok := item[f]
		if !ok || v == nil {
			return nil, appsync.Errorf(appsync.BadRequest, "%s: the key field %q is missing", m.Name, f)
		}
		key[i] = normNumber(v)
	}
	return key, nil
}

// normNumber turns every number (json.Number, integral floats) into an
// int64 when it is an integer, else a float64, so one key value has one
// representation whatever the request carried.
func normNumber(v any) any {
	if n, ok := scalar.NumberOf(v); ok {
		return n.Value()
	}
	return v
}

// normItem normalises the numbers of an input map, recursively.
func normItem(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normItem(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normItem(e)
		}
		return out
	}
	return normNumber(v)
}

// awsNow formats t as AppSync's $util.time.nowISO8601() does.
func awsNow(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// stampValue returns t as a value of the timestamp field f: AppSync's
// resolvers write nowISO8601() whatever the type, which an AWSDate, AWSTime
// or AWSTimestamp field cannot hold, so each declared type gets its own
// form (the UTC date, the UTC time of day, seconds since the epoch).
func stampValue(f *meta.Field, t time.Time) any {
	t = t.UTC()
	if f != nil {
		switch f.Type {
		case meta.AWSDate:
			return t.Format("2006-01-02")
		case meta.AWSTime:
			return t.Format("15:04:05.000Z")
		case meta.AWSTimestamp:
			return t.Unix()
		}
	}
	return awsNow(t)
}

// stampTypeOf is the type stampValue formats for f (AWSDateTime for a
// field it does not know).
func stampTypeOf(f *meta.Field) string {
	if f == nil {
		return meta.AWSDateTime
	}
	switch f.Type {
	case meta.AWSDate, meta.AWSTime, meta.AWSTimestamp:
		return f.Type
	}
	return meta.AWSDateTime
}

// storedFields are the model's fields kept in items.
func storedFields(m *meta.Model) []*meta.Field {
	out := make([]*meta.Field, 0, len(m.Fields))
	for _, f := range m.Fields {
		if f.Stored() {
			out = append(out, f)
		}
	}
	return out
}

// encodeBufs are buffers for checkValues' encoding, which is only a check:
// reusing them saves growing one per mutation.
var encodeBufs = sync.Pool{New: func() any { return new([]byte) }}

// checkValues validates the item's values against the schema (AWS scalar
// formats, number ranges, nested non-model shapes) with the record codec,
// which refuses exactly what generated clients would refuse.
func (s *Server) checkValues(m *meta.Model, item map[string]any) error {
	stored, ok := s.stored[m.Name]
	if !ok || s.models[m.Name] != m {
		stored = storedFields(m)
	}
	// The codec refuses fields it does not know: those are left out, in a
	// copy made only when the item has any.
	known := item
	for k := range item {
		if f := m.Field(k); f == nil || !f.Stored() {
			known = make(map[string]any, len(item))
			for k, v := range item {
				if f := m.Field(k); f != nil && f.Stored() {
					known[k] = v
				}
			}
			break
		}
	}
	buf := encodeBufs.Get().(*[]byte)
	b, err := codec.EncodeMap(s.cfg.Schema, stored, known, (*buf)[:0])
	if cap(b) <= 64<<10 {
		*buf = b[:0]
		encodeBufs.Put(buf)
	}
	if err != nil {
		return appsync.Errorf(appsync.BadRequest, "%s: %v", m.Name, err)
	}
	for _, f := range stored {
		if f.Required && !f.IsList && f.Kind != meta.KindModel {
			if v, ok := item[f.Name]; ok && v == nil {
				return appsync.Errorf(appsync.BadRequest, "%s.%s: the field is required and cannot be null", m.Name, f.Name)
			}
		}
		// GraphQL's Int is 32-bit; AppSync refuses wider values, and
		// clients that decode Int as int32 would break on them.
		if f.Kind == meta.KindScalar && f.Type == meta.Int {
			if v, ok := outsideInt32(item[f.Name]); ok {
				return appsync.Errorf(appsync.BadRequest, "%s.%s: %v is outside the 32-bit range of Int", m.Name, f.Name, v)
			}
		}
	}
	return nil
}

// outsideInt32 returns the first integer of v (a value or a list) that an
// Int cannot hold.
func outsideInt32(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, x < math.MinInt32 || x > math.MaxInt32
	case []any:
		for _, e := range x {
			if n, bad := outsideInt32(e); bad {
				return n, true
			}
		}
	}
	return 0, false
}
