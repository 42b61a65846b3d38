package storage

import (
	"bytes"
	"cmp"
	"math"
	"testing"
)

func FuzzStringOrder(f *testing.F) {
	f.Add("a", "ab")
	f.Add("a\x00", "a")
	f.Add("", "\x00")
	f.Add("\xff", "\x00\x01")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := AppendString(nil, a), AppendString(nil, b)
		if kbytes := AppendStringBytes([]byte("x"), []byte(a)); !bytes.Equal(kbytes[1:], ka) || kbytes[0] != 'x' {
			t.Fatalf("AppendStringBytes(%q) = %x, AppendString %x", a, kbytes[1:], ka)
		}
		if got, want := bytes.Compare(ka, kb), cmp.Compare(a, b); got != want {
			t.Fatalf("order of %q, %q: keys %d, strings %d", a, b, got, want)
		}
		comp, rest, ok := SplitComponent(append(ka, kb...))
		if !ok || !bytes.Equal(comp, ka) || !bytes.Equal(rest, kb) {
			t.Fatalf("split %q: comp %x rest %x ok %v", a, comp, rest, ok)
		}
		if s, ok := DecodeString(comp); !ok || s != a {
			t.Fatalf("decode %q: got %q", a, s)
		}
		prefixed := len(b) >= len(a) && b[:len(a)] == a
		if got := bytes.HasPrefix(kb, AppendStringPrefix(nil, a)); got != prefixed {
			t.Fatalf("%q beginsWith %q: key prefix %v, want %v", b, a, got, prefixed)
		}
	})
}

func FuzzNumberOrder(f *testing.F) {
	f.Add(int64(-1), int64(1), -0.5, 2.0)
	f.Add(int64(math.MinInt64), int64(math.MaxInt64), math.Inf(-1), math.Inf(1))
	f.Fuzz(func(t *testing.T, a, b int64, x, y float64) {
		if got, want := bytes.Compare(AppendInt(nil, a), AppendInt(nil, b)), cmp.Compare(a, b); got != want {
			t.Fatalf("int order of %d, %d: %d, want %d", a, b, got, want)
		}
		if math.IsNaN(x) || math.IsNaN(y) {
			return
		}
		if got, want := bytes.Compare(AppendFloat(nil, x), AppendFloat(nil, y)), cmp.Compare(x, y); got != want {
			t.Fatalf("float order of %v, %v: %d, want %d", x, y, got, want)
		}
	})
}

func TestNullSortsFirst(t *testing.T) {
	null := AppendNull(nil)
	for _, k := range [][]byte{AppendBool(nil, false), AppendInt(nil, math.MinInt64), AppendFloat(nil, math.Inf(-1)), AppendInstant(nil, math.MinInt64, 0, ""), AppendString(nil, "")} {
		if bytes.Compare(null, k) >= 0 {
			t.Errorf("null does not sort before %x", k)
		}
	}
}

func TestSkipComponents(t *testing.T) {
	k := AppendString(AppendInt(AppendNull(nil), 7), "x\x00y")
	k = AppendInstant(AppendBool(k, true), 10, 5, "t")
	rest, ok := SkipComponents(k, 4)
	if !ok || !bytes.Equal(rest, AppendInstant(nil, 10, 5, "t")) {
		t.Fatalf("skip 4: %x, %v", rest, ok)
	}
	if _, ok := SkipComponents(k[:len(k)-1], 5); ok {
		t.Fatal("truncated key split without error")
	}
}

func TestSuccessor(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xFF}, []byte{2}},
		{[]byte{0xFF}, nil},
	} {
		if got := Successor(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("Successor(%x) = %x, want %x", c.in, got, c.want)
		}
	}
}
