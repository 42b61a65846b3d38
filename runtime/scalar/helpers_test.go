package scalar_test

import (
	"errors"
	"testing"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// wantParseError fails t unless err is a *scalar.ParseError for typ and
// value. If reason is not empty, the error's Reason must equal it.
func wantParseError(t *testing.T, err error, typ, value, reason string) {
	t.Helper()
	pe, ok := errors.AsType[*scalar.ParseError](err)
	if !ok {
		t.Fatalf("error = %v (%T), want *scalar.ParseError", err, err)
	}
	if pe.Type != typ || pe.Value != value {
		t.Errorf("ParseError{Type: %q, Value: %q}, want {%q, %q}", pe.Type, pe.Value, typ, value)
	}
	if reason != "" && pe.Reason != reason {
		t.Errorf("Reason = %q, want %q", pe.Reason, reason)
	}
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}

// jsonRoundTrip decodes the JSON text in into a new T, encodes the result,
// and fails t unless the output is byte-identical to in.
func jsonRoundTrip[T any, PT interface {
	*T
	UnmarshalJSON([]byte) error
	MarshalJSON() ([]byte, error)
}](t *testing.T, in string) T {
	t.Helper()
	var v T
	if err := PT(&v).UnmarshalJSON([]byte(in)); err != nil {
		t.Fatalf("UnmarshalJSON(%s): %v", in, err)
	}
	out, err := PT(&v).MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON after decoding %s: %v", in, err)
	}
	if string(out) != in {
		t.Errorf("JSON round trip: got %s, want %s", out, in)
	}
	return v
}

func TestParseErrorMessage(t *testing.T) {
	_, err := scalar.ParseDateTime("2024-13-01T00:00:00Z")
	const want = `invalid AWSDateTime "2024-13-01T00:00:00Z": month out of range`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}

	long := make([]byte, 1000)
	for i := range long {
		long[i] = 'x'
	}
	_, err = scalar.ParseJSON(string(long))
	if n := len(err.Error()); n > 400 {
		t.Errorf("error message for a 1000-byte value has %d bytes; want it cut short", n)
	}
}
