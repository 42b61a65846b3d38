package serve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestInvalidDocumentStatus checks the HTTP status of refused requests on
// both front ends (the fast path and net/http), as AppSync answers them
// (graphql/graphql-over-http#81): a body that cannot be read, a document
// that does not parse and one over dsgen's document limits get 400 and
// errors only; a document that parses but fails validation, and missing
// variables, get 200 with "data": null, which Amplify clients read (a 4xx
// reaches their callers as "Unknown error").
func TestInvalidDocumentStatus(t *testing.T) {
	query := func(q string, vars map[string]any) string {
		b, err := json.Marshal(appsync.Request{Query: q, Variables: vars})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, body string
		status     int
		errorType  string
		mentions   string
	}{
		{"empty body", "", 400, appsync.MalformedHTTPRequest, "empty"},
		{"not JSON", "meow", 400, appsync.MalformedHTTPRequest, "not a GraphQL JSON request"},
		{"unparseable query", query(`{ getPost(id: "p1") { id `, nil), 400, appsync.ValidationError, "Expected Name, found <EOF>"},
		{"over a document limit", query(rootAliases(21), nil), 400, appsync.ValidationError, "has 21 root fields; the maximum is 20"},
		{"subscription over HTTP", query(`subscription { onCreatePost { id } }`, nil), 400, appsync.UnsupportedOperation, "WebSocket"},
		{"undefined field", query(`{ badfield }`, nil), 200, appsync.ValidationError,
			"Validation error of type FieldUndefined: Field 'badfield' in type 'Query' is undefined @ 'badfield'"},
		{"missing required variable", query(`query Q($id: ID!) { getPost(id: $id) { id } }`, nil), 200, appsync.ValidationError, "$id"},
		{"mutation without its input", query(wireCreatePost, map[string]any{}), 200, appsync.ValidationError, "$input"},
		{"unknown operation name", `{"query":"query A { __typename }","operationName":"B"}`, 200, appsync.ValidationError, `"B"`},
		{"fragment cycle", query(`{ getPost(id: "p") { ...A } } fragment A on Post { id ...A }`, nil), 200, appsync.ValidationError, "within itself"},
	}
	clock := newClock()
	for _, fe := range []struct {
		name string
		fast bool
	}{{"fast path", true}, {"net/http", false}} {
		t.Run(fe.name, func(t *testing.T) {
			s := serveOn(t, clock, fe.fast, nil)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					status, raw := postOn(t, s.addr, c.body)
					if status != c.status {
						t.Errorf("HTTP %d, want %d: %s", status, c.status, raw)
					}
					var got struct {
						Data   *json.RawMessage
						Errors []*appsync.Error
					}
					if err := json.Unmarshal(raw, &got); err != nil {
						t.Fatalf("answer is not JSON: %v: %s", err, raw)
					}
					if len(got.Errors) == 0 {
						t.Fatalf("no errors: %s", raw)
					}
					if got.Errors[0].ErrorType != c.errorType || !strings.Contains(got.Errors[0].Message, c.mentions) {
						t.Errorf("error %v, want %s mentioning %q", got.Errors[0], c.errorType, c.mentions)
					}
					if c.status == 200 {
						// "data": null, present, before the errors.
						if !bytes.HasPrefix(raw, []byte(`{"data":null,"errors":[`)) {
							t.Errorf("want data null before the errors: %s", raw)
						}
						if len(got.Errors[0].Locations) == 0 && c.name != "mutation without its input" && c.name != "unknown operation name" {
							t.Errorf("no location: %s", raw)
						}
					} else if got.Data != nil || bytes.Contains(raw, []byte(`"data":`)) {
						t.Errorf("HTTP %d answer carries data: %s", status, raw)
					}
				})
			}
		})
	}
}

// postOn sends body to addr's /graphql on a connection of its own, as the
// fast path serves it (the head the conformance tests send), and returns
// the status and body of the answer.
func postOn(t *testing.T, addr, body string) (int, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(frameWait))
	if _, err := io.WriteString(c, gqlHead+"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}
