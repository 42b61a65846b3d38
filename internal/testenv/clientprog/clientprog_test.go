package clientprog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type testCommand struct {
	Op  string          `json:"op"`
	Req json.RawMessage `json:"req"`
	N   int             `json:"n"`
}

func (c testCommand) Header() (string, json.RawMessage) { return c.Op, c.Req }

// TestServe: one answer line per command, in order, blank lines skipped,
// "req" echoed, failures (and lines that do not decode) answered with the
// op named once and the loop going on.
func TestServe(t *testing.T) {
	in := strings.Join([]string{
		`{"op":"double","n":2,"req":1}`,
		``,
		`not json`,
		`{"op":"fail","req":"x"}`,
		`{"op":"double","n":"two","req":2}`,
		`{"n":1}`,
	}, "\n")
	var out bytes.Buffer
	err := Serve(context.Background(), make(chan struct{}), strings.NewReader(in), &out, func(_ context.Context, c testCommand) (map[string]any, error) {
		switch c.Op {
		case "double":
			return map[string]any{"n": 2 * c.N}, nil
		case "fail":
			return nil, errors.New("it failed")
		}
		return nil, errors.New("no op")
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"n":4,"req":1}
{"error":"bad command line \"not json\": invalid character 'o' in literal null (expecting 'u')"}
{"error":"fail: it failed","req":"x"}
{"error":"double: bad command line \"{\\\"op\\\":\\\"double\\\",\\\"n\\\":\\\"two\\\",\\\"req\\\":2}\": json: cannot unmarshal string into Go struct field testCommand.n of type int","req":2}
{"error":"no op"}
`
	if out.String() != want {
		t.Errorf("answers:\n%s\nwant:\n%s", out.String(), want)
	}
}
