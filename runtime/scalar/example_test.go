package scalar_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/dsgen/dsgen/runtime/scalar"
)

func ExampleParseDateTime() {
	d, err := scalar.ParseDateTime("2024-01-02T03:04:05.123456789+05:30")
	if err != nil {
		panic(err)
	}
	fmt.Println(d)
	fmt.Println(d.Time().UTC())

	_, err = scalar.ParseDateTime("2024-02-30T00:00:00Z")
	fmt.Println(err)
	// Output:
	// 2024-01-02T03:04:05.123456789+05:30
	// 2024-01-01 21:34:05.123456789 +0000 UTC
	// invalid AWSDateTime "2024-02-30T00:00:00Z": day out of range
}

func ExampleNewDateTime() {
	t := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", 3600))
	fmt.Println(scalar.NewDateTime(t))
	// Output: 2024-01-02T02:04:05.123Z
}

func ExampleDateTime_Compare() {
	vals := []scalar.DateTime{
		scalar.MustParseDateTime("2024-01-01T09:30:00+02:00"),
		scalar.MustParseDateTime("2024-01-01T08:00:00Z"),
		scalar.MustParseDateTime("2024-01-01T10:00:00+02:00"),
	}
	slices.SortFunc(vals, scalar.DateTime.Compare)
	fmt.Println(vals)
	fmt.Println(vals[1].Equal(vals[2]))
	// Output:
	// [2024-01-01T09:30:00+02:00 2024-01-01T08:00:00Z 2024-01-01T10:00:00+02:00]
	// true
}

func ExampleJSON() {
	var m struct {
		Meta scalar.JSON `json:"meta"`
	}
	// On the wire an AWSJSON is a string holding JSON text.
	if err := json.Unmarshal([]byte(`{"meta":"{\"tags\":[\"a\"]}"}`), &m); err != nil {
		panic(err)
	}
	fmt.Println(m.Meta)

	var content struct{ Tags []string }
	if err := json.Unmarshal(m.Meta, &content); err != nil {
		panic(err)
	}
	fmt.Println(content.Tags)

	out, _ := json.Marshal(m)
	fmt.Println(string(out))
	// Output:
	// {"tags":["a"]}
	// [a]
	// {"meta":"{\"tags\":[\"a\"]}"}
}

func ExampleIPAddress_Prefix() {
	a := scalar.MustParseIPAddress("2001:DB8::1/32")
	fmt.Println(a, a.Prefix(), a.Prefix().Masked())
	// Output: 2001:DB8::1/32 2001:db8::1/32 2001:db8::/32
}
