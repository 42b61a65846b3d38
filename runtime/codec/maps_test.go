package codec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/meta"
)

// testSDL has a field of every kind the codec handles, single and list,
// plus relations, which are not stored.
const testSDL = `
enum Status { DRAFT PUBLISHED }
type Geo { lat: Float! lng: Float! }
type Address { line1: String! city: String geo: Geo tags: [String!] }
type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model {
  id: ID!
  title: String!
  blog: Blog @belongsTo
  rating: Int
  score: Float
  draft: Boolean
  status: Status
  day: AWSDate
  clock: AWSTime
  at: AWSDateTime
  epoch: AWSTimestamp
  email: AWSEmail
  meta: AWSJSON
  url: AWSURL
  phone: AWSPhone
  ip: AWSIPAddress
  address: Address
  tags: [String]
  counts: [Int]
  ratios: [Float]
  flags: [Boolean]
  statuses: [Status]
  days: [AWSDate]
  times: [AWSTime]
  ats: [AWSDateTime]
  epochs: [AWSTimestamp]
  emails: [AWSEmail]
  metas: [AWSJSON]
  urls: [AWSURL]
  phones: [AWSPhone]
  ips: [AWSIPAddress]
  addresses: [Address]
}
`

func loadSchema(t testing.TB) *meta.Schema {
	t.Helper()
	s, err := schema.Load([]schema.Source{{Name: "test.graphql", Input: testSDL}}, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fullPost has a value for every stored field of Post.
func fullPost() map[string]any {
	return map[string]any{
		"id":          "p1",
		"title":       "Hello, wörld",
		"blogPostsId": "b1",
		"rating":      int64(-5),
		"score":       4.25,
		"draft":       false,
		"status":      "PUBLISHED",
		"day":         "2024-02-29",
		"clock":       "12:30:00.123Z",
		"at":          "2024-02-29T12:30:00+01:00",
		"epoch":       int64(1700000000),
		"email":       "a@example.com",
		"meta":        `{"a": [1, 2]}`,
		"url":         "https://example.com/x?y=1",
		"phone":       "+1 555 0100",
		"ip":          "10.0.0.0/8",
		"address": map[string]any{
			"line1": "1 Main St",
			"geo":   map[string]any{"lat": 1.5, "lng": -2.0},
			"tags":  []any{},
		},
		"tags":      []any{"a", "", "c"},
		"counts":    []any{int64(0), int64(math.MinInt64), int64(math.MaxInt64)},
		"ratios":    []any{0.5, math.Inf(-1)},
		"flags":     []any{true, false},
		"statuses":  []any{"DRAFT"},
		"days":      []any{"2024-01-01", nil},
		"times":     []any{"23:59:59Z"},
		"ats":       []any{nil, "2024-01-01T00:00:00.000Z"},
		"epochs":    []any{int64(-1)},
		"emails":    []any{"b@example.org"},
		"metas":     []any{`null`, `"s"`, nil},
		"urls":      []any{"http://x.y"},
		"phones":    []any{"+44 20 7946 0000"},
		"ips":       []any{"::1"},
		"addresses": []any{map[string]any{"line1": "x", "city": "y"}, map[string]any{"line1": ""}},
	}
}

func TestMapRoundTrip(t *testing.T) {
	s := loadSchema(t)
	post := s.Model("Post")
	for name, rec := range map[string]map[string]any{
		"full":  fullPost(),
		"empty": {},
		"nulls": {"id": "p2", "title": "", "rating": nil, "tags": nil, "address": nil},
		"empty lists": {"id": "p3", "title": "t", "tags": []any{}, "counts": []any{}, "ratios": []any{},
			"flags": []any{}, "days": []any{}, "metas": []any{}, "addresses": []any{}},
	} {
		data, err := codec.EncodeMap(s, post.Fields, rec, nil)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		got, err := codec.DecodeMap(s, post.Fields, data)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		want := map[string]any{}
		for k, v := range rec {
			if v != nil {
				want[k] = v
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", name, got, want)
		}
		again, err := codec.EncodeMap(s, post.Fields, got, []byte("x"))
		if err != nil || !bytes.Equal(again[1:], data) || again[0] != 'x' {
			t.Errorf("%s: re-encoding differs (%v)", name, err)
		}
	}
}

// TestMapLenientInput checks the other Go values EncodeMap accepts, as a
// JSON decoder produces them.
func TestMapLenientInput(t *testing.T) {
	s := loadSchema(t)
	fields := s.Model("Post").Fields
	var in map[string]any
	d := json.NewDecoder(strings.NewReader(`{"id":"p","title":"t","rating":3,"score":2,"epoch":-7,"counts":[1,2],"ratios":[1],"tags":["x"]}`))
	if err := d.Decode(&in); err != nil {
		t.Fatal(err)
	}
	in["meta"] = json.RawMessage(`[true]`)
	in["address"] = map[string]any{"line1": "l", "tags": []string{"a"}}
	in["addresses"] = []map[string]any{{"line1": "m"}}
	in["emails"] = []string{"x@y.z"}
	data, err := codec.EncodeMap(s, fields, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeMap(s, fields, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "p", "title": "t", "rating": int64(3), "score": 2.0, "epoch": int64(-7),
		"counts": []any{int64(1), int64(2)}, "ratios": []any{1.0}, "tags": []any{"x"}, "meta": `[true]`,
		"address":   map[string]any{"line1": "l", "tags": []any{"a"}},
		"addresses": []any{map[string]any{"line1": "m"}},
		"emails":    []any{"x@y.z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	// Number forms of the same integer encode identically.
	for _, v := range []any{3, int8(3), uint16(3), uint64(3), float32(3), json.Number("3")} {
		b, err := codec.EncodeMap(s, fields, map[string]any{"rating": v}, nil)
		ref, _ := codec.EncodeMap(s, fields, map[string]any{"rating": int64(3)}, nil)
		if err != nil || !bytes.Equal(b, ref) {
			t.Errorf("rating %T: %v", v, err)
		}
	}
}

func TestEncodeMapErrors(t *testing.T) {
	s := loadSchema(t)
	fields := s.Model("Post").Fields
	tests := []struct {
		rec  map[string]any
		want string
	}{
		{map[string]any{"id": "x", "nope": 1, "zzz": 2}, "codec: nope: no such field"},
		{map[string]any{"id": 5}, "codec: id: want a string, got int"},
		{map[string]any{"rating": 1.5}, "codec: rating: 1.5 is not an integer in range"},
		{map[string]any{"rating": math.Pow(2, 63)}, "codec: rating: 9.223372036854776e+18 is not an integer in range"},
		{map[string]any{"rating": "1"}, "codec: rating: want an integer, got string"},
		{map[string]any{"score": "1"}, "codec: score: want a number, got string"},
		{map[string]any{"draft": 1}, "codec: draft: want a bool, got int"},
		{map[string]any{"status": 1}, "codec: status: want a string, got int"},
		{map[string]any{"day": "2024-02-30"}, `codec: day: invalid AWSDate "2024-02-30": day out of range`},
		{map[string]any{"at": ""}, `codec: at: invalid AWSDateTime "": empty`},
		{map[string]any{"email": "nope"}, `codec: email: invalid AWSEmail "nope": missing @`},
		{map[string]any{"meta": "{"}, `codec: meta: invalid AWSJSON "{": unexpected end of JSON input`},
		{map[string]any{"meta": 1}, "codec: meta: want JSON text (a string), got int"},
		{map[string]any{"tags": "a"}, "codec: tags: want a list ([]any), got string"},
		{map[string]any{"tags": []any{"a", 1}}, "codec: tags[1]: want a string, got int"},
		{map[string]any{"days": []any{"2024-01-01", ""}}, `codec: days[1]: invalid AWSDate "": empty`},
		{map[string]any{"address": "x"}, "codec: address: want a map[string]any, got string"},
		{map[string]any{"address": map[string]any{"geo": map[string]any{"lat": "n"}}}, "codec: address.geo.lat: want a number, got string"},
		{map[string]any{"address": map[string]any{"town": "n"}}, "codec: address.town: no such field"},
		{map[string]any{"addresses": []any{map[string]any{}, map[string]any{"geo": map[string]any{"lng": true}}}},
			"codec: addresses[1].geo.lng: want a number, got bool"},
		{map[string]any{"addresses": []any{"x"}}, "codec: addresses[0]: want a map[string]any, got string"},
	}
	for _, tt := range tests {
		buf := []byte("keep")
		out, err := codec.EncodeMap(s, fields, tt.rec, buf)
		var me *codec.MapError
		if !errors.As(err, &me) || err.Error() != tt.want {
			t.Errorf("%v:\n got %v\nwant %s", tt.rec, err, tt.want)
		}
		if string(out) != "keep" {
			t.Errorf("%v: on error EncodeMap must return buf as it was, got %q", tt.rec, out)
		}
	}
}

func TestDecodeMapErrors(t *testing.T) {
	s := loadSchema(t)
	fields := s.Model("Post").Fields
	num := func(name string) int { return codec.FieldNumber(fields, name) }
	tests := []struct {
		name  string
		write func(e *codec.Encoder)
		want  string
	}{
		{"wrong wire type", func(e *codec.Encoder) { e.Int(num("title"), 1) }, "codec: title: field 2: want bytes, got varint"},
		{"empty AWS scalar", func(e *codec.Encoder) { e.String(num("at"), "") }, `codec: at: invalid AWSDateTime "": empty`},
		{"bad AWS scalar", func(e *codec.Encoder) { e.String(num("ip"), "1.2.3") }, `codec: ip: invalid AWSIPAddress "1.2.3": not an IPv4 or IPv6 address`},
		{"bad list element", func(e *codec.Encoder) { codec.WriteStrings(e, num("urls"), []string{"", "nope"}) },
			`codec: urls[1]: invalid AWSURL "nope": missing scheme`},
		{"bad nested", func(e *codec.Encoder) {
			e.Message(num("address"), func(e *codec.Encoder) { e.String(3, "not a geo") })
		}, "codec: address.geo: field 13: unknown wire type 6"},
		{"truncated", func(e *codec.Encoder) { e.String(num("title"), "abc"); e.Bytes(); e.Reset(e.Bytes()[:4]) },
			"codec: field 2: length 3 exceeds the 2 bytes left"},
	}
	for _, tt := range tests {
		var e codec.Encoder
		tt.write(&e)
		_, err := codec.DecodeMap(s, fields, e.Bytes())
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}

// TestDecodeMapSkipsUnknownFields reads a record written for a newer
// version of a type with the older type's fields.
func TestDecodeMapSkipsUnknownFields(t *testing.T) {
	s := loadSchema(t)
	newer := s.Model("Post").Fields
	older := newer[:2] // id, title
	data, err := codec.EncodeMap(s, newer, fullPost(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeMap(s, older, data)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"id": "p1", "title": "Hello, wörld"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestRelationFieldsIgnored checks that relation fields take a number but
// are never written, and that EncodeMap ignores values given for them.
func TestRelationFieldsIgnored(t *testing.T) {
	s := loadSchema(t)
	fields := s.Model("Post").Fields
	if codec.FieldNumber(fields, "blog") != 3 || codec.FieldNumber(fields, "rating") != 4 {
		t.Fatalf("field numbers must count relation fields: blog=%d rating=%d",
			codec.FieldNumber(fields, "blog"), codec.FieldNumber(fields, "rating"))
	}
	with, err := codec.EncodeMap(s, fields, map[string]any{"id": "x", "blog": map[string]any{"id": "b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	without, _ := codec.EncodeMap(s, fields, map[string]any{"id": "x"}, nil)
	if !bytes.Equal(with, without) {
		t.Errorf("relation value was written: % x", with)
	}
}

// TestEncodeFieldsMatchesEncodeMap checks that EncodeFields writes the
// bytes EncodeMap writes for the same values, and fails as it does.
func TestEncodeFieldsMatchesEncodeMap(t *testing.T) {
	s := loadSchema(t)
	fields := s.Model("Post").Fields
	byMap := func(rec map[string]any) func(int) (any, bool) {
		return func(i int) (any, bool) {
			v, ok := rec[fields[i].Name]
			return v, ok
		}
	}
	for name, rec := range map[string]map[string]any{
		"full":  fullPost(),
		"empty": {},
		"nulls": {"id": "p2", "title": "", "rating": nil, "tags": nil, "address": nil},
	} {
		want, err := codec.EncodeMap(s, fields, rec, []byte("x"))
		if err != nil {
			t.Fatalf("%s: EncodeMap: %v", name, err)
		}
		got, err := codec.EncodeFields(s, fields, byMap(rec), []byte("x"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: EncodeFields = %q, %v, want %q", name, got, err, want)
		}
	}
	bad := fullPost()
	bad["rating"] = "five"
	_, wantErr := codec.EncodeMap(s, fields, bad, nil)
	got, err := codec.EncodeFields(s, fields, byMap(bad), []byte("x"))
	if err == nil || wantErr == nil || err.Error() != wantErr.Error() || string(got) != "x" {
		t.Errorf("EncodeFields of a bad value = %q, %v, want x and %v", got, err, wantErr)
	}
}
