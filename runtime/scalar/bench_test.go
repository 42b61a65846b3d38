package scalar_test

import (
	"encoding/json"
	"testing"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func BenchmarkParseDateTime(b *testing.B) {
	for _, s := range []string{"2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05.123456789+05:30"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scalar.ParseDateTime(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sink keeps benchmark results alive so that they are heap-allocated as in
// real use.
var sink []byte

func BenchmarkDateTimeMarshalJSON(b *testing.B) {
	d := scalar.MustParseDateTime("2024-01-02T03:04:05.123Z")
	b.ReportAllocs()
	for b.Loop() {
		out, err := d.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
}

func BenchmarkDateTimeUnmarshalJSON(b *testing.B) {
	data := []byte(`"2024-01-02T03:04:05.123Z"`)
	b.ReportAllocs()
	for b.Loop() {
		var d scalar.DateTime
		if err := d.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDateTimeCompare(b *testing.B) {
	x := scalar.MustParseDateTime("2024-01-01T10:00:00.5+02:00")
	y := scalar.MustParseDateTime("2024-01-01T08:00:00.25Z")
	for b.Loop() {
		if x.Compare(y) != 1 {
			b.Fatal("wrong order")
		}
	}
}

// BenchmarkModelJSON measures a generated-model-like struct through
// encoding/json, which is how the runtime uses these types.
func BenchmarkModelJSON(b *testing.B) {
	type model struct {
		ID        string           `json:"id"`
		Due       scalar.Date      `json:"due"`
		CreatedAt scalar.DateTime  `json:"createdAt"`
		Email     scalar.Email     `json:"email"`
		Meta      scalar.JSON      `json:"meta"`
		Version   scalar.Timestamp `json:"_lastChangedAt"`
	}
	data := []byte(`{"id":"a1","due":"2024-03-01","createdAt":"2024-01-02T03:04:05.123Z","email":"a@example.com","meta":"{\"k\":[1,2]}","_lastChangedAt":1704164645123}`)
	b.ReportAllocs()
	for b.Loop() {
		var m model
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEmail(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := scalar.ParseEmail("first.last+tag@sub.example.co.uk"); err != nil {
			b.Fatal(err)
		}
	}
}
