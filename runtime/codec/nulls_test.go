package codec

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/dsgen/dsgen/runtime/meta"
)

func p[T any](v T) *T { return &v }

// TestNullElementsRoundTrip writes lists with null elements with the
// generated code's writers and reads them back with its readers and with
// DecodeMap: nulls stay null, values stay values, and both encoders write
// the same bytes.
func TestNullElementsRoundTrip(t *testing.T) {
	fields := []*meta.Field{
		{Name: "s", Type: meta.String, IsList: true},
		{Name: "i", Type: meta.Int, IsList: true},
		{Name: "f", Type: meta.Float, IsList: true},
		{Name: "b", Type: meta.Boolean, IsList: true},
		{Name: "d", Type: meta.AWSDate, IsList: true},
		{Name: "j", Type: meta.AWSJSON, IsList: true},
	}
	strs := []*string{p("a"), nil, p(""), nil}
	ints := []*int{nil, p(0), p(-7)}
	floats := []*float64{p(1.5), nil}
	bools := []*bool{nil, p(false), p(true)}
	dates := []*text{p(text("2024-01-02")), nil}
	jsons := []*[]byte{nil, p([]byte(`{"a":1}`))}

	var e Encoder
	WriteStringPtrs(&e, 1, strs)
	WriteIntPtrs(&e, 2, ints)
	WriteFloatPtrs(&e, 3, floats)
	WriteBoolPtrs(&e, 4, bools)
	WriteTextPtrs(&e, 5, dates)
	WriteBytePtrs(&e, 6, jsons)
	data := e.Bytes()

	rec := map[string]any{
		"s": []any{"a", nil, "", nil},
		"i": []any{nil, int64(0), int64(-7)},
		"f": []any{1.5, nil},
		"b": []any{nil, false, true},
		"d": []any{"2024-01-02", nil},
		"j": []any{nil, `{"a":1}`},
	}
	fromMap, err := EncodeMap(nil, fields, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromMap, data) {
		t.Fatalf("EncodeMap and the typed writers differ:\n%x\n%x", fromMap, data)
	}
	back, err := DecodeMap(nil, fields, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rec) {
		t.Fatalf("DecodeMap = %#v\nwant %#v", back, rec)
	}

	var d Decoder
	d.Reset(data)
	for d.Next() {
		switch d.Field() {
		case 1:
			if got := ReadStringPtrs[string](&d); !reflect.DeepEqual(got, strs) {
				t.Errorf("strings = %v", deref(got))
			}
		case 2:
			if got := ReadIntPtrs[int](&d); !reflect.DeepEqual(got, ints) {
				t.Errorf("ints = %v", deref(got))
			}
		case 3:
			if got := ReadFloatPtrs[float64](&d); !reflect.DeepEqual(got, floats) {
				t.Errorf("floats = %v", deref(got))
			}
		case 4:
			if got := ReadBoolPtrs[bool](&d); !reflect.DeepEqual(got, bools) {
				t.Errorf("bools = %v", deref(got))
			}
		case 5:
			got, err := ParseListPtrs(&d, func(s string) (text, error) { return text(s), nil })
			if err != nil || !reflect.DeepEqual(got, dates) {
				t.Errorf("dates = %v, %v", deref(got), err)
			}
		case 6:
			got, err := ParseListPtrs(&d, func(s string) ([]byte, error) { return []byte(s), nil })
			if err != nil || !reflect.DeepEqual(got, jsons) {
				t.Errorf("jsons = %v, %v", deref(got), err)
			}
		}
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}

	// Without nulls the bytes are those of the non-null writers.
	var a, b Encoder
	WriteStringPtrs(&a, 1, []*string{p("x"), p("y")})
	WriteStrings(&b, 1, []string{"x", "y"})
	WriteIntPtrs(&a, 2, []*int{p(3)})
	WriteInts(&b, 2, []int{3})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("lists without nulls changed encoding: %x vs %x", a.Bytes(), b.Bytes())
	}
}

// TestNullMessages round-trips a list of nullable nested records.
func TestNullMessages(t *testing.T) {
	list := []*int{p(5), nil, p(0)}
	enc := func(e *Encoder, v *int) { e.Int(1, int64(*v)) }
	dec := func(d *Decoder, v *int) error {
		for d.Next() {
			*v = int(d.Int())
		}
		return d.Err()
	}
	var e Encoder
	WriteMessagePtrs(&e, 3, list, enc)
	var d Decoder
	d.Reset(e.Bytes())
	if !d.Next() {
		t.Fatal(d.Err())
	}
	got, err := ReadMessagePtrs(&d, dec)
	if err != nil || !reflect.DeepEqual(got, list) {
		t.Fatalf("got %v, %v", deref(got), err)
	}
}

type text string

func (t text) String() string { return string(t) }

func deref[T any](ps []*T) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}
