package model

// Hand-written tests of the generated record codec (kept by go test
// ./golden -update). Fuzz with
//
//	go test -run '^$' -fuzz FuzzDecodeRecord ./golden/record-codec/model

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/scalar"
)

var (
	schema = Schema()
	fields = schema.Model("Record").Fields
	model  = recordModel(schema)
)

// full sets every field of a Record, with zero values and nulls inside lists.
func full() *Record {
	return &Record{
		ID:             "r1",
		Str:            "héllo",
		OptStr:         new(""),
		Strs:           []string{"a", "", "c"},
		Int:            -42,
		OptInt:         new(math.MaxInt64),
		Ints:           []*int{new(0), nil, new(math.MinInt64), new(7)},
		Float:          math.Inf(-1),
		OptFloat:       new(-0.0),
		Floats:         []float64{1.5, math.SmallestNonzeroFloat64},
		Bool:           true,
		OptBool:        new(false),
		Bools:          []*bool{new(false), new(true), nil},
		Date:           scalar.MustParseDate("2024-02-29"),
		OptDate:        new(scalar.MustParseDate("1970-01-01Z")),
		Dates:          []*scalar.Date{new(scalar.MustParseDate("2000-01-01+05:30")), nil},
		Time:           scalar.MustParseTime("23:59:59.999Z"),
		OptTime:        new(scalar.MustParseTime("00:00")),
		Times:          []scalar.Time{scalar.MustParseTime("12:00:00-08:00")},
		DateTime:       scalar.MustParseDateTime("2024-02-29T12:30:00+01:00"),
		OptDateTime:    new(scalar.MustParseDateTime("1999-12-31T23:59:59.5Z")),
		DateTimes:      []*scalar.DateTime{nil, new(scalar.MustParseDateTime("2024-01-01T00:00:00Z"))},
		Timestamp:      0,
		OptTimestamp:   new(scalar.Timestamp(-1)),
		Timestamps:     []*scalar.Timestamp{new(scalar.Timestamp(1700000000)), nil, new(scalar.Timestamp(0))},
		Email:          scalar.MustParseEmail("a@example.com"),
		OptEmail:       new(scalar.MustParseEmail("b@example.org")),
		Emails:         []*scalar.Email{nil, new(scalar.MustParseEmail("c@example.net"))},
		JSON:           scalar.MustParseJSON(`{"a": [1, 2]}`),
		OptJSON:        new(scalar.MustParseJSON(`null`)),
		Jsons:          []*scalar.JSON{new(scalar.MustParseJSON(`"s"`)), nil},
		URL:            scalar.MustParseURL("https://example.com/x?y=1"),
		OptURL:         new(scalar.MustParseURL("mailto:x@y.z")),
		Urls:           []*scalar.URL{new(scalar.MustParseURL("http://a.b"))},
		Phone:          scalar.MustParsePhone("+1 555 0100"),
		OptPhone:       new(scalar.MustParsePhone("555-0100")),
		Phones:         []*scalar.Phone{},
		IP:             scalar.MustParseIPAddress("10.0.0.0/8"),
		OptIP:          new(scalar.MustParseIPAddress("::1")),
		Ips:            []*scalar.IPAddress{new(scalar.MustParseIPAddress("127.0.0.1")), nil},
		Mood:           MoodHappy,
		OptMood:        new(MoodSad),
		Moods:          []*Mood{new(MoodSad), nil, new(MoodHappy)},
		Shape:          Shape{Mood: MoodSad, Origin: Point{X: 1, Y: 2}, Points: []Point{}},
		OptShape:       &Shape{Corner: &Point{Label: new("c")}, Points: []Point{{X: 3}, {}}, Tags: []*string{new("t"), nil, new("")}, DrawnAt: new(scalar.MustParseDateTime("2024-01-01T00:00:00Z"))},
		Shapes:         []*Shape{{}, nil, {Mood: MoodHappy, Origin: Point{Y: -1}}},
		Err:            new(scalar.MustParseDate("2024-12-31")),
		New:            new("new"),
		CreatedAt:      new(scalar.MustParseDateTime("2024-01-01T00:00:00.000Z")),
		UpdatedAt:      new(scalar.MustParseDateTime("2024-01-02T00:00:00.000Z")),
		OwnerRecordsID: new("o1"),
	}
}

func encode(v *Record) []byte {
	var e codec.Encoder
	model.Encode(&e, v)
	return e.Bytes()
}

func decode(data []byte) (*Record, error) {
	var d codec.Decoder
	d.Reset(data)
	v := new(Record)
	return v, model.Decode(&d, v)
}

// TestRoundTrip sends records through generated Encode -> DecodeMap ->
// EncodeMap -> generated Decode: the schema-driven codec must read and
// write exactly the generated code's bytes.
func TestRoundTrip(t *testing.T) {
	cases := map[string]*Record{
		"full":    full(),
		"zero":    {},
		"minimal": {ID: "r2", Floats: []float64{}, Shape: Shape{Points: []Point{}}},
	}
	for name, in := range cases {
		data := encode(in)
		m, err := codec.DecodeMap(schema, fields, data)
		if err != nil {
			t.Fatalf("%s: DecodeMap: %v", name, err)
		}
		again, err := codec.EncodeMap(schema, fields, m, nil)
		if err != nil {
			t.Fatalf("%s: EncodeMap: %v", name, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("%s: EncodeMap wrote other bytes than the generated encoder\n got % x\nwant % x", name, again, data)
		}
		out, err := decode(again)
		if err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Errorf("%s: round trip changed the record\n got %+v\nwant %+v", name, out, in)
		}
	}
}

// TestMapValues checks what DecodeMap returns for generated records: the
// JSON-like values the server and migrations work with.
func TestMapValues(t *testing.T) {
	m, err := codec.DecodeMap(schema, fields, encode(full()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"optInt":       int64(math.MaxInt64),
		"dates":        []any{"2000-01-01+05:30", nil},
		"timestamp":    int64(0),
		"optTimestamp": int64(-1),
		"json":         `{"a": [1, 2]}`,
		"mood":         "HAPPY",
		"moods":        []any{"SAD", nil, "HAPPY"},
		"phones":       []any{},
		"shape":        map[string]any{"mood": "SAD", "origin": map[string]any{"x": 1.0, "y": 2.0}, "points": []any{}},
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s: got %#v, want %#v", k, m[k], v)
		}
	}
	for _, k := range []string{"owner", "notes"} {
		if _, ok := m[k]; ok {
			t.Errorf("relation field %s must not be stored", k)
		}
	}
}

// TestZeroScalarsAreNull checks that AWS scalars holding their zero value
// ("no value") are stored as null.
func TestZeroScalarsAreNull(t *testing.T) {
	in := &Record{ID: "z", OptDate: &scalar.Date{}, OptEmail: new(scalar.Email("")), OptJSON: &scalar.JSON{}}
	m, err := codec.DecodeMap(schema, fields, encode(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"date", "optDate", "email", "optEmail", "json", "optJson"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s: stored %#v, want null", k, v)
		}
	}
	out, err := decode(encode(in))
	if err != nil {
		t.Fatal(err)
	}
	if out.OptDate != nil || out.OptEmail != nil || out.OptJSON != nil {
		t.Errorf("zero scalars must read back as null: %+v", out)
	}
}

func TestDecodeErrors(t *testing.T) {
	num := func(name string) int { return codec.FieldNumber(fields, name) }
	tests := []struct {
		name  string
		write func(e *codec.Encoder)
		want  string
	}{
		{"bad date", func(e *codec.Encoder) { e.String(num("date"), "2024-13-01") },
			`Record.date: invalid AWSDate "2024-13-01": month out of range`},
		{"empty date", func(e *codec.Encoder) { e.String(num("optDate"), "") },
			`Record.optDate: invalid AWSDate "": empty`},
		{"bad list element", func(e *codec.Encoder) { codec.WriteStrings(e, num("emails"), []string{"x"}) },
			`Record.emails: element 0: invalid AWSEmail "x": missing @`},
		{"wrong wire type", func(e *codec.Encoder) { e.Int(num("dateTime"), 1) },
			`Record.dateTime: codec: field 21: want bytes, got varint`},
		{"wrong wire type, plain field", func(e *codec.Encoder) { e.String(num("int"), "1") },
			`codec: field 6: want varint, got bytes`},
		{"bad nested", func(e *codec.Encoder) {
			e.Message(num("shape"), func(e *codec.Encoder) {
				e.Message(2, func(e *codec.Encoder) { e.String(1, "x") })
			})
		}, `Record.shape: Shape.origin: codec: field 1: want fixed64, got bytes`},
		{"bad nested scalar", func(e *codec.Encoder) {
			codec.WriteMessages(e, num("shapes"), []int{1}, func(e *codec.Encoder, _ *int) { e.String(6, "yesterday") })
		}, `Record.shapes: element 0: Shape.drawnAt: invalid AWSDateTime "yesterday": `},
	}
	for _, tt := range tests {
		var e codec.Encoder
		tt.write(&e)
		_, err := decode(e.Bytes())
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant %s...", tt.name, err, tt.want)
		}
		// DecodeMap rejects the same records.
		if _, merr := codec.DecodeMap(schema, fields, e.Bytes()); merr == nil {
			t.Errorf("%s: DecodeMap accepted what Decode rejects", tt.name)
		}
	}
}

// TestUnknownFieldsSkipped decodes a record written by a newer schema with
// more fields, and numbers of relation fields, which are never stored.
func TestUnknownFieldsSkipped(t *testing.T) {
	var e codec.Encoder
	e.String(num("owner"), "relation")
	model.Encode(&e, &Record{ID: "n", Str: "s"})
	e.Float(999, 1)
	e.Message(1000, func(e *codec.Encoder) { e.Int(1, 1) })
	out, err := decode(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != "n" || out.Str != "s" {
		t.Errorf("got %+v", out)
	}
}

func num(name string) int { return codec.FieldNumber(fields, name) }

// TestAllocations checks that encoding into a large enough buffer does not
// allocate and that decoding allocates little beyond the values it returns.
func TestAllocations(t *testing.T) {
	in := &Record{ID: "id", Str: "str", Int: 1, Float: 2, Bool: true, OptInt: new(3), Ints: []*int{new(1), new(2)}, Mood: MoodSad,
		Shape: Shape{Origin: Point{X: 1}}, Timestamp: 5}
	buf := make([]byte, 0, 1024)
	var e codec.Encoder
	if n := testing.AllocsPerRun(100, func() { e.Reset(buf); model.Encode(&e, in) }); n != 0 {
		t.Errorf("Encode: %v allocations, want 0", n)
	}
	data := encode(in)
	var d codec.Decoder
	var out Record
	// id, str, mood, *int: one allocation each; []*int two (the values
	// and the pointers to them).
	if n := testing.AllocsPerRun(100, func() { d.Reset(data); out = Record{}; _ = model.Decode(&d, &out) }); n > 6 {
		t.Errorf("Decode: %v allocations, want at most 6", n)
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the generated decoder: it must
// not panic, must accept exactly what DecodeMap accepts, and must read the
// same record from the input as from what EncodeMap writes for DecodeMap's
// values. (The bytes can differ: the generated encoder writes required
// fields the input lacked, as zero values.)
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encode(full()))
	f.Add(encode(&Record{}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode(data)
		m, merr := codec.DecodeMap(schema, fields, data)
		if (err == nil) != (merr == nil) {
			t.Fatalf("Decode and DecodeMap disagree: %v / %v", err, merr)
		}
		if err != nil {
			return
		}
		viaMap, err := codec.EncodeMap(schema, fields, m, nil)
		if err != nil {
			t.Fatalf("EncodeMap: %v", err)
		}
		v2, err := decode(viaMap)
		if err != nil {
			t.Fatalf("Decode of EncodeMap's bytes: %v", err)
		}
		b := encode(v)
		if !bytes.Equal(encode(v2), b) {
			t.Fatalf("the generated and map codecs read different records\n got % x\nwant % x", encode(v2), b)
		}
		v3, err := decode(b)
		if err != nil || !bytes.Equal(encode(v3), b) {
			t.Fatalf("encoding is not a fixed point (%v)", err)
		}
	})
}
