package codec_test

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

// FuzzDecode feeds arbitrary bytes to every reader. Nothing may panic, and
// whatever DecodeMap accepts must encode again and decode to the same
// values: EncodeMap's output is a fixed point.
//
//	go test -run '^$' -fuzz FuzzDecode ./runtime/codec
func FuzzDecode(f *testing.F) {
	s := loadSchema(f)
	post := s.Model("Post")
	full, err := codec.EncodeMap(s, post.Fields, fullPost(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 'h', 'i', 0x10, 0x01})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		readAll(data, 0)

		rec, err := codec.DecodeMap(s, post.Fields, data)
		if err != nil {
			return
		}
		again, err := codec.EncodeMap(s, post.Fields, rec, nil)
		if err != nil {
			t.Fatalf("DecodeMap result does not encode: %v\n%#v", err, rec)
		}
		rec2, err := codec.DecodeMap(s, post.Fields, again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !equalValues(rec, rec2) {
			t.Fatalf("values changed:\n%#v\n%#v", rec, rec2)
		}
		third, err := codec.EncodeMap(s, post.Fields, rec2, nil)
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("encoding is not a fixed point (%v)", err)
		}
	})
}

// readAll reads every field of data with a reader chosen by the field
// number, recursing into nested records.
func readAll(data []byte, depth int) {
	var d codec.Decoder
	d.Reset(data)
	for d.Next() {
		switch d.Field() % 13 {
		case 0:
			_ = d.String()
		case 1:
			_ = d.Int()
		case 2:
			_ = d.Float()
		case 3:
			_ = d.Bool()
		case 4:
			_ = d.Raw()
		case 5:
			if depth < 8 {
				readAll(d.Raw(), depth+1)
			} else {
				m := d.Message()
				for m.Next() {
				}
			}
		case 6:
			_ = codec.ReadStrings[string](&d)
		case 7:
			_ = codec.ReadInts[int8](&d)
		case 8:
			_ = codec.ReadFloats[float64](&d)
		case 9:
			_ = codec.ReadBools[bool](&d)
		case 10:
			_, _ = codec.ParseList(&d, func(s string) (string, error) { return s, nil })
		case 11:
			l := d.List()
			for i := range l.Len() + 1 { // one read too many: an error, not a panic
				switch i % 6 {
				case 0:
					_ = l.String()
				case 1:
					_ = l.Int()
				case 2:
					_ = l.Float()
				case 3:
					_ = l.Bool()
				case 4:
					_ = l.Raw()
				case 5:
					m := l.Message()
					for m.Next() {
						_ = m.Int()
					}
				}
			}
		default:
			d.Skip()
		}
	}
	_ = d.Err()
}

// FuzzRoundTrip builds records of the test schema's Post from fuzz input
// and checks map -> bytes -> map.
//
//	go test -run '^$' -fuzz FuzzRoundTrip ./runtime/codec
func FuzzRoundTrip(f *testing.F) {
	s := loadSchema(f)
	post := s.Model("Post")
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add([]byte("the quick brown fox jumps over the lazy dog, 0123456789"))
	f.Fuzz(func(t *testing.T, seed []byte) {
		g := &gen{src: seed, s: s}
		rec, want := g.record(post.Fields, 0)
		data, err := codec.EncodeMap(s, post.Fields, rec, nil)
		if err != nil {
			t.Fatalf("encode %#v: %v", rec, err)
		}
		got, err := codec.DecodeMap(s, post.Fields, data)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !equalValues(got, want) {
			t.Fatalf("round trip\n  in %#v\n got %#v\nwant %#v", rec, got, want)
		}
	})
}

// gen draws values from fuzz input; when the input runs out it draws zeros.
type gen struct {
	src []byte
	s   *meta.Schema
}

func (g *gen) byte() byte {
	if len(g.src) == 0 {
		return 0
	}
	b := g.src[0]
	g.src = g.src[1:]
	return b
}

func (g *gen) uint64() uint64 {
	var u uint64
	for range 8 {
		u = u<<8 | uint64(g.byte())
	}
	return u
}

func (g *gen) string() string {
	n := int(g.byte() % 8)
	if n > len(g.src) {
		n = len(g.src)
	}
	s := string(g.src[:n])
	g.src = g.src[n:]
	return s
}

// samples holds valid texts of the AWS scalars.
var samples = map[string][]string{
	meta.AWSDate:      {"2024-02-29", "1970-01-01Z", "2000-12-31+05:30"},
	meta.AWSTime:      {"00:00", "23:59:59.999999999Z", "12:00:00-08:00"},
	meta.AWSDateTime:  {"2024-02-29T12:00:00Z", "1999-01-01T00:00:00.5+01:00"},
	meta.AWSEmail:     {"a@b.co", "first.last+tag@example.com"},
	meta.AWSJSON:      {"null", "[]", `{"k": [1, "v", {}]}`, ` 1.5e3 `},
	meta.AWSURL:       {"https://example.com", "mailto:x@y.z"},
	meta.AWSPhone:     {"+1 555 0100", "555-0100"},
	meta.AWSIPAddress: {"127.0.0.1", "::1", "10.0.0.0/8"},
}

// record returns a record of fields and the map DecodeMap must return for
// it: without null fields, with nil list elements kept as nil.
func (g *gen) record(fields []*meta.Field, depth int) (rec, want map[string]any) {
	rec, want = map[string]any{}, map[string]any{}
	for _, f := range fields {
		if !f.Stored() {
			continue
		}
		switch g.byte() % 4 {
		case 0: // absent
			continue
		case 1: // null
			rec[f.Name] = nil
			continue
		}
		if !f.IsList {
			rec[f.Name], want[f.Name] = g.value(f, depth)
			continue
		}
		n := int(g.byte() % 4)
		in, out := make([]any, n), make([]any, n)
		for i := range n {
			if g.byte()%5 == 0 {
				in[i], out[i] = nil, nil
				continue
			}
			in[i], out[i] = g.value(f, depth)
		}
		rec[f.Name], want[f.Name] = in, out
	}
	return rec, want
}

// value returns a non-nil value of f's type, and how it decodes.
func (g *gen) value(f *meta.Field, depth int) (any, any) {
	switch f.Kind {
	case meta.KindEnum:
		e := g.s.Enum(f.Type)
		v := e.Values[int(g.byte())%len(e.Values)]
		return v, v
	case meta.KindNonModel:
		if depth > 3 {
			return map[string]any{}, map[string]any{}
		}
		return g.record(g.s.NonModel(f.Type).Fields, depth+1)
	}
	switch f.Type {
	case meta.ID, meta.String:
		v := g.string()
		return v, v
	case meta.Int, meta.AWSTimestamp:
		v := int64(g.uint64())
		switch g.byte() % 3 { // other accepted forms of the same integer
		case 1:
			return int(v), v
		case 2:
			if f := float64(v); f == math.Trunc(f) && f > math.MinInt64 && f < math.MaxInt64 {
				return f, int64(f)
			}
		}
		return v, v
	case meta.Float:
		v := math.Float64frombits(g.uint64())
		return v, v
	case meta.Boolean:
		v := g.byte()%2 == 1
		return v, v
	}
	ss := samples[f.Type]
	v := ss[int(g.byte())%len(ss)]
	return v, v
}

// equalValues compares JSON-like values, with NaN equal to itself (by bits).
func equalValues(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !equalValues(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !equalValues(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		b, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(b)
	}
	return fmt.Sprintf("%T %v", a, a) == fmt.Sprintf("%T %v", b, b)
}
