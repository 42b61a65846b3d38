package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/meta"
)

// TestWireFormat pins the bytes of each kind of field: the format is
// persistent and must not drift.
func TestWireFormat(t *testing.T) {
	f64 := func(x float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name  string
		write func(e *Encoder)
		want  []byte
	}{
		{"string", func(e *Encoder) { e.String(1, "hi") }, []byte{1<<3 | 2, 2, 'h', 'i'}},
		{"empty string", func(e *Encoder) { e.String(1, "") }, []byte{1<<3 | 2, 0}},
		{"int 0", func(e *Encoder) { e.Int(2, 0) }, []byte{2 << 3, 0}},
		{"int -1", func(e *Encoder) { e.Int(2, -1) }, []byte{2 << 3, 1}},
		{"int 1", func(e *Encoder) { e.Int(2, 1) }, []byte{2 << 3, 2}},
		{"int 64", func(e *Encoder) { e.Int(2, 64) }, []byte{2 << 3, 0x80, 0x01}},
		{"float", func(e *Encoder) { e.Float(3, 1.5) }, cat([]byte{3<<3 | 1}, f64(1.5))},
		{"bool", func(e *Encoder) { e.Bool(4, true); e.Bool(5, false) }, []byte{4 << 3, 1, 5 << 3, 0}},
		{"raw", func(e *Encoder) { e.Raw(6, []byte(`{}`)) }, []byte{6<<3 | 2, 2, '{', '}'}},
		{"field 16", func(e *Encoder) { e.Bool(16, true) }, []byte{0x80, 0x01, 1}},
		{"message", func(e *Encoder) {
			e.Message(7, func(e *Encoder) { e.Int(1, 1); e.String(2, "a") })
		}, []byte{7<<3 | 2, 5, 1 << 3, 2, 2<<3 | 2, 1, 'a'}},
		{"empty message", func(e *Encoder) { e.Message(7, func(*Encoder) {}) }, []byte{7<<3 | 2, 0}},
		{"strings", func(e *Encoder) { WriteStrings(e, 8, []string{"a", "", "bc"}) },
			[]byte{8<<3 | 2, 7, 3, 1, 'a', 0, 2, 'b', 'c'}},
		{"nil list", func(e *Encoder) { WriteStrings(e, 8, []string(nil)) }, nil},
		{"empty list", func(e *Encoder) { WriteStrings(e, 8, []string{}) }, []byte{8<<3 | 2, 1, 0}},
		{"ints", func(e *Encoder) { WriteInts(e, 9, []int{0, -1, 64}) }, []byte{9<<3 | 2, 5, 3, 0, 1, 0x80, 0x01}},
		{"floats", func(e *Encoder) { WriteFloats(e, 10, []float64{2}) }, cat([]byte{10<<3 | 2, 9, 1}, f64(2))},
		{"bools", func(e *Encoder) { WriteBools(e, 11, []bool{true, false}) }, []byte{11<<3 | 2, 3, 2, 1, 0}},
		{"bytes", func(e *Encoder) { WriteBytes(e, 12, [][]byte{[]byte("1"), nil}) }, []byte{12<<3 | 2, 4, 2, 1, '1', 0}},
		{"messages", func(e *Encoder) {
			WriteMessages(e, 13, []int{5, 0}, func(e *Encoder, v *int) {
				if *v != 0 {
					e.Int(1, int64(*v))
				}
			})
		}, []byte{13<<3 | 2, 5, 2, 2, 1 << 3, 10, 0}},
		{"list", func(e *Encoder) {
			e.List(14, 2, func(l *ListEncoder, i int) { l.String(strings.Repeat("x", i)) })
		}, []byte{14<<3 | 2, 4, 2, 0, 1, 'x'}},
	}
	for _, tt := range tests {
		var e Encoder
		tt.write(&e)
		if got := e.Bytes(); !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got % x, want % x", tt.name, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	var e Encoder
	e.Reset([]byte("prefix"))
	e.String(1, "hello")
	e.Int(2, math.MinInt64)
	e.Int(3, math.MaxInt64)
	e.Float(4, -0.25)
	e.Bool(5, true)
	e.Raw(6, []byte(`[1,2]`))
	e.Message(7, func(e *Encoder) {
		e.String(1, "inner")
		e.Message(2, func(e *Encoder) { e.Float(1, math.Inf(1)) })
	})
	WriteStrings(&e, 8, []string{"a", "b"})
	WriteInts(&e, 9, []int64{math.MinInt64, 0, math.MaxInt64})
	WriteFloats(&e, 10, []float64{math.NaN(), 1})
	WriteBools(&e, 11, []bool{false, true, true})
	WriteStrings(&e, 12, []string{})
	WriteInts(&e, 13, []int8{-128, 127})
	buf := e.Bytes()
	if !bytes.HasPrefix(buf, []byte("prefix")) {
		t.Fatalf("Reset(buf) must append to buf: % x", buf)
	}

	var d Decoder
	d.Reset(buf[len("prefix"):])
	seen := 0
	for d.Next() {
		seen++
		switch d.Field() {
		case 1:
			check(t, "string", d.String(), "hello")
		case 2:
			check(t, "min int", d.Int(), int64(math.MinInt64))
		case 3:
			check(t, "max int", d.Int(), int64(math.MaxInt64))
		case 4:
			check(t, "float", d.Float(), -0.25)
		case 5:
			check(t, "bool", d.Bool(), true)
		case 6:
			check(t, "raw", string(d.Raw()), `[1,2]`)
		case 7:
			m := d.Message()
			for m.Next() {
				switch m.Field() {
				case 1:
					check(t, "inner string", m.String(), "inner")
				case 2:
					mm := m.Message()
					for mm.Next() {
						check(t, "inner float", mm.Float(), math.Inf(1))
					}
					check(t, "inner inner err", mm.Err(), nil)
				}
			}
			check(t, "inner err", m.Err(), nil)
		case 8:
			checkSlice(t, "strings", ReadStrings[string](&d), []string{"a", "b"})
		case 9:
			checkSlice(t, "ints", ReadInts[int64](&d), []int64{math.MinInt64, 0, math.MaxInt64})
		case 10:
			fs := ReadFloats[float64](&d)
			if len(fs) != 2 || !math.IsNaN(fs[0]) || fs[1] != 1 {
				t.Errorf("floats: got %v", fs)
			}
		case 11:
			checkSlice(t, "bools", ReadBools[bool](&d), []bool{false, true, true})
		case 12:
			if got := ReadStrings[string](&d); got == nil || len(got) != 0 {
				t.Errorf("empty list: got %#v, want an empty non-nil slice", got)
			}
		case 13:
			checkSlice(t, "int8s", ReadInts[int8](&d), []int8{-128, 127})
		default:
			t.Errorf("unexpected field %d", d.Field())
		}
	}
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != 13 {
		t.Errorf("read %d fields, want 13", seen)
	}
}

// TestNamedTypes checks the generic list functions with the named types
// generated code uses (enums, scalar.Timestamp).
func TestNamedTypes(t *testing.T) {
	type status string
	type stamp int64
	var e Encoder
	WriteStrings(&e, 1, []status{"DRAFT", "LIVE"})
	WriteInts(&e, 2, []stamp{-5, 1700000000})
	var d Decoder
	d.Reset(e.Bytes())
	for d.Next() {
		switch d.Field() {
		case 1:
			checkSlice(t, "enums", ReadStrings[status](&d), []status{"DRAFT", "LIVE"})
		case 2:
			checkSlice(t, "stamps", ReadInts[stamp](&d), []stamp{-5, 1700000000})
		}
	}
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
}

func TestNullAndEmptyLists(t *testing.T) {
	var e Encoder
	WriteStrings(&e, 1, []string(nil))
	WriteInts(&e, 2, []int(nil))
	WriteFloats(&e, 3, []float64(nil))
	WriteBools(&e, 4, []bool(nil))
	WriteBytes(&e, 5, [][]byte(nil))
	WriteTexts(&e, 6, []stringer(nil))
	WriteMessages(&e, 7, []int(nil), func(*Encoder, *int) {})
	WriteMessage(&e, 8, (*int)(nil), func(*Encoder, *int) {})
	if len(e.Bytes()) != 0 {
		t.Fatalf("nil lists and messages must not be written: % x", e.Bytes())
	}

	WriteStrings(&e, 1, []string{})
	WriteInts(&e, 2, []int{})
	WriteFloats(&e, 3, []float64{})
	WriteBools(&e, 4, []bool{})
	WriteBytes(&e, 5, [][]byte{})
	WriteTexts(&e, 6, []stringer{})
	WriteMessages(&e, 7, []int{}, func(*Encoder, *int) {})
	var d Decoder
	d.Reset(e.Bytes())
	n := 0
	for d.Next() {
		n++
		var empty bool
		switch d.Field() {
		case 1:
			empty = isEmpty(ReadStrings[string](&d))
		case 2:
			empty = isEmpty(ReadInts[int](&d))
		case 3:
			empty = isEmpty(ReadFloats[float64](&d))
		case 4:
			empty = isEmpty(ReadBools[bool](&d))
		case 5, 6:
			list, err := ParseList(&d, func(s string) (string, error) { return s, nil })
			empty = err == nil && isEmpty(list)
		case 7:
			l := d.List()
			empty = l.Len() == 0
		}
		if !empty {
			t.Errorf("field %d: empty list did not read as empty and non-nil", d.Field())
		}
	}
	if d.Err() != nil || n != 7 {
		t.Fatalf("read %d fields, err %v", n, d.Err())
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

func isEmpty[T any](s []T) bool { return s != nil && len(s) == 0 }

func TestWriteTextsAndParseList(t *testing.T) {
	var e Encoder
	WriteTexts(&e, 1, []stringer{"2024-01-02", "", "x"})
	var d Decoder
	d.Reset(e.Bytes())
	if !d.Next() {
		t.Fatal(d.Err())
	}
	parse := func(s string) (stringer, error) {
		if s == "x" {
			return "", errors.New("bad x")
		}
		return stringer("<" + s + ">"), nil
	}
	_, err := ParseList(&d, parse)
	if err == nil || err.Error() != "element 2: bad x" {
		t.Fatalf("got %v, want the parse error of element 2", err)
	}

	e.Reset(nil)
	WriteTexts(&e, 1, []stringer{"a", ""})
	d.Reset(e.Bytes())
	d.Next()
	got, err := ParseList(&d, parse)
	if err != nil {
		t.Fatal(err)
	}
	// Empty text is a null element: the zero value, not parsed.
	checkSlice(t, "parsed", got, []stringer{"<a>", ""})
}

func TestParse(t *testing.T) {
	parse := func(s string) (int, error) {
		if s == "" {
			return 0, errors.New("empty")
		}
		return len(s), nil
	}
	var e Encoder
	e.String(1, "abc")
	e.String(2, "")
	e.Int(3, 7)
	var d Decoder
	d.Reset(e.Bytes())
	d.Next()
	if n, err := Parse(&d, parse); n != 3 || err != nil {
		t.Errorf("got %d, %v", n, err)
	}
	d.Next()
	if _, err := Parse(&d, parse); err == nil || err.Error() != "empty" {
		t.Errorf("empty text must reach parse, got %v", err)
	}
	d.Next()
	_, err := Parse(&d, parse)
	var fe *FormatError
	if !errors.As(err, &fe) || err.Error() != "codec: field 3: want bytes, got varint" {
		t.Errorf("wrong wire type: got %v", err)
	}
}

// TestLongValues checks lengths that need multi-byte varints, which move
// nested values to make room.
func TestLongValues(t *testing.T) {
	for _, n := range []int{127, 128, 300, 16383, 16384, 1 << 21} {
		s := strings.Repeat("y", n)
		var e Encoder
		e.Message(1, func(e *Encoder) { e.String(1, s); e.Int(2, 42) })
		e.List(2, 2, func(l *ListEncoder, i int) {
			l.Message(func(e *Encoder) { e.String(1, s[:n-i]) })
		})
		e.Int(3, -9)
		var d Decoder
		d.Reset(e.Bytes())
		var got []string
		for d.Next() {
			switch d.Field() {
			case 1:
				m := d.Message()
				for m.Next() {
					if m.Field() == 1 {
						got = append(got, m.String())
					} else {
						check(t, "int after long string", m.Int(), int64(42))
					}
				}
			case 2:
				l := d.List()
				for range l.Len() {
					m := l.Message()
					for m.Next() {
						got = append(got, m.String())
					}
				}
			case 3:
				check(t, "int after list", d.Int(), int64(-9))
			}
		}
		if d.Err() != nil {
			t.Fatalf("n=%d: %v", n, d.Err())
		}
		if len(got) != 3 || got[0] != s || got[1] != s || got[2] != s[:n-1] {
			t.Fatalf("n=%d: values did not round-trip", n)
		}
	}
}

func TestUnknownFieldsSkipped(t *testing.T) {
	// A newer writer adds fields of every wire type around the known ones.
	var e Encoder
	e.Int(1, 5)
	e.Float(2, 3.5)
	e.String(3, "known")
	e.Message(4, func(e *Encoder) { e.String(1, "nested unknown") })
	WriteInts(&e, 5, []int{1, 2, 3})
	e.Bool(6, true)
	e.String(MaxField, "far away")
	e.Int(7, 11)

	var d Decoder
	d.Reset(e.Bytes())
	var s string
	var n int64
	for d.Next() {
		switch d.Field() {
		case 3:
			s = d.String()
		case 7:
			n = d.Int()
		default:
			d.Skip()
		}
	}
	if d.Err() != nil || s != "known" || n != 11 {
		t.Fatalf("got %q, %d, %v", s, n, d.Err())
	}
}

func TestFieldNumber(t *testing.T) {
	fields := []*meta.Field{{Name: "id"}, {Name: "blog", Kind: meta.KindModel}, {Name: "title"}}
	check(t, "id", FieldNumber(fields, "id"), 1)
	check(t, "relation", FieldNumber(fields, "blog"), 2)
	check(t, "after relation", FieldNumber(fields, "title"), 3)
	check(t, "absent", FieldNumber(fields, "nope"), 0)
}

func TestDecodeErrors(t *testing.T) {
	tag := func(field int, w wireType) byte { return byte(field<<3) | byte(w) }
	tests := []struct {
		name string
		data []byte
		read func(d *Decoder)
		want string
	}{
		{"truncated tag", []byte{0x80}, nil, "codec: bad field tag"},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), nil, "codec: bad field tag"},
		{"varint overflow", append(bytes.Repeat([]byte{0xff}, 9), 0x02), nil, "codec: bad field tag"},
		{"field 0", []byte{tag(0, wireVarint), 1}, nil, "codec: bad field number 0"},
		{"field too large", appendUvarint(nil, (MaxField+1)<<3), nil, "codec: bad field number 536870912"},
		{"unknown wire type", []byte{tag(1, 5), 0, 0, 0, 0}, nil, "codec: field 1: unknown wire type 5"},
		{"group wire type", []byte{tag(2, 3)}, nil, "codec: field 2: unknown wire type 3"},
		{"truncated varint", []byte{tag(1, wireVarint), 0x80}, nil, "codec: field 1: bad varint"},
		{"truncated fixed64", []byte{tag(1, wireFixed64), 1, 2, 3}, nil, "codec: field 1: truncated fixed64"},
		{"truncated bytes", []byte{tag(1, wireBytes), 5, 'a'}, nil, "codec: field 1: length 5 exceeds the 1 bytes left"},
		{"huge length", append([]byte{tag(1, wireBytes)}, appendUvarint(nil, math.MaxUint64)...), nil,
			"codec: field 1: length 18446744073709551615 exceeds the 0 bytes left"},
		{"bad length", []byte{tag(1, wireBytes), 0x80}, nil, "codec: field 1: bad length"},
		{"want bytes", []byte{tag(3, wireVarint), 1}, func(d *Decoder) { _ = d.String() }, "codec: field 3: want bytes, got varint"},
		{"want varint", []byte{tag(3, wireBytes), 0}, func(d *Decoder) { d.Int() }, "codec: field 3: want varint, got bytes"},
		{"want fixed64", []byte{tag(3, wireVarint), 0}, func(d *Decoder) { d.Float() }, "codec: field 3: want fixed64, got varint"},
		{"want message", []byte{tag(3, wireFixed64), 0, 0, 0, 0, 0, 0, 0, 0}, func(d *Decoder) { d.Message() }, "codec: field 3: want bytes, got fixed64"},
		{"want list", []byte{tag(3, wireVarint), 0}, func(d *Decoder) { ReadStrings[string](d) }, "codec: field 3: want bytes, got varint"},
		{"bad bool", []byte{tag(2, wireVarint), 2}, func(d *Decoder) { d.Bool() }, "codec: field 2: bad Boolean 2"},
		{"bad list count", []byte{tag(1, wireBytes), 1, 0x80}, func(d *Decoder) { ReadInts[int](d) }, "codec: field 1: bad list count"},
		{"list count too large", []byte{tag(1, wireBytes), 2, 5, 1}, func(d *Decoder) { ReadInts[int](d) }, "codec: field 1: list of 5 elements in 1 bytes"},
		{"bytes after empty list", []byte{tag(1, wireBytes), 2, 0, 1}, func(d *Decoder) { ReadInts[int](d) }, "codec: field 1: bytes after the end of an empty list"},
		{"bytes after last element", []byte{tag(1, wireBytes), 3, 1, 1, 1}, func(d *Decoder) { ReadInts[int](d) }, "codec: field 1: 1 bytes after the last list element are not a null-element trailer"},
		{"truncated element", []byte{tag(1, wireBytes), 3, 2, 1, 0x80}, func(d *Decoder) { ReadInts[int](d) }, "codec: field 1: list element 1 truncated"},
		{"truncated string element", []byte{tag(1, wireBytes), 3, 1, 5, 'a'}, func(d *Decoder) { ReadStrings[string](d) }, "codec: field 1: list element 0 truncated"},
		{"floats size", []byte{tag(1, wireBytes), 3, 1, 0, 0}, func(d *Decoder) { ReadFloats[float64](d) }, "codec: field 1: list of 1 Floats in 2 bytes"},
		{"bad bool element", []byte{tag(1, wireBytes), 2, 1, 3}, func(d *Decoder) { ReadBools[bool](d) }, "codec: field 1: bad Boolean 3 in list element 0"},
		{"int overflow", []byte{tag(1, wireBytes), 3, 1, 0x80, 0x02}, func(d *Decoder) { ReadInts[int8](d) }, "codec: field 1: list element 0: 128 overflows int8"},
	}
	for _, tt := range tests {
		var d Decoder
		d.Reset(tt.data)
		for d.Next() {
			if tt.read != nil {
				tt.read(&d)
			}
		}
		err := d.Err()
		var fe *FormatError
		if !errors.As(err, &fe) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %s", tt.name, err, tt.want)
		}
		if d.Next() {
			t.Errorf("%s: Next after an error must return false", tt.name)
		}
	}
}

// TestListDecoderErrors checks that errors inside a list are the
// ListDecoder's, and reach the Decoders of nested records.
func TestListDecoderErrors(t *testing.T) {
	var d Decoder
	d.Reset([]byte{2<<3 | 2, 2, 1, 0})
	d.Next()
	l := d.List()
	l.Int()
	l.Int()
	if err := l.Err(); err == nil || err.Error() != "codec: field 2: reading past the end of a list of 1 elements" {
		t.Errorf("got %v", err)
	}
	if d.Err() != nil {
		t.Errorf("element errors must not be the parent's: %v", d.Err())
	}

	// A truncated nested record: its Decoder reports it.
	d.Reset([]byte{3<<3 | 2, 3, 2, 0, 5})
	d.Next()
	l = d.List()
	if m := l.Message(); m.Next() || m.Err() != nil {
		t.Fatalf("first element: %v", m.Err())
	}
	m := l.Message()
	if m.Next() || m.Err() == nil || m.Err().Error() != "codec: field 3: list element 1 truncated" {
		t.Errorf("second element: got %v", m.Err())
	}
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	if d.Next() || d.Err() != nil {
		t.Fatal("the zero Decoder must be an empty record")
	}
	var l ListDecoder
	if l.Len() != 0 || l.String() != "" || l.Int() != 0 {
		t.Fatal("the zero ListDecoder must be empty")
	}
}

func TestEncoderPanicsOnBadFieldNumber(t *testing.T) {
	for _, n := range []int{0, -1, MaxField + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("field %d: no panic", n)
				}
			}()
			var e Encoder
			e.Int(n, 1)
		}()
	}
}

// TestAllocations checks that encoding into a large enough buffer and
// decoding numbers do not allocate.
func TestAllocations(t *testing.T) {
	buf := make([]byte, 0, 4096)
	long := strings.Repeat("z", 300)
	ints := []int{1, 2, 3}
	strs := []string{"a", "b"}
	var e Encoder
	encode := func() {
		e.Reset(buf)
		e.String(1, long)
		e.Int(2, -3)
		e.Float(3, 2)
		e.Bool(4, true)
		e.Message(5, func(e *Encoder) { e.String(1, long) })
		WriteInts(&e, 6, ints)
		WriteStrings(&e, 7, strs)
		WriteMessages(&e, 8, ints, func(e *Encoder, v *int) { e.Int(1, int64(*v)) })
	}
	if n := testing.AllocsPerRun(100, encode); n != 0 {
		t.Errorf("encode: %v allocations, want 0", n)
	}
	data := slices.Clone(e.Bytes())
	var d Decoder
	var sum int64
	decode := func() {
		d.Reset(data)
		for d.Next() {
			switch d.Field() {
			case 2:
				sum += d.Int()
			case 3:
				sum += int64(d.Float())
			case 5:
				m := d.Message()
				for m.Next() {
					sum += int64(len(m.Raw()))
				}
			case 6:
				l := d.List()
				for range l.Len() {
					sum += l.Int()
				}
			default:
				d.Skip()
			}
		}
	}
	if n := testing.AllocsPerRun(100, decode); n != 0 {
		t.Errorf("decode: %v allocations, want 0", n)
	}
	if d.Err() != nil {
		t.Fatal(d.Err())
	}
}

func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func checkSlice[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
