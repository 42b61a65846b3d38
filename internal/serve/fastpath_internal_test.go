package serve

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestFastPathHeadMatchesNetHTTP writes every answer the GraphQL handler
// can give (each status, with and without Retry-After) through net/http
// and through the fast path's appendHead, and compares the bytes but the
// Date value.
func TestFastPathHeadMatchesNetHTTP(t *testing.T) {
	answers := []gqlAnswer{
		{status: http.StatusOK, body: []byte(`{"data":{"x":1}}`)},
		{status: http.StatusBadRequest, body: []byte(`{"errors":[]}`)},
		{status: http.StatusUnauthorized, body: []byte(`{"errors":[{}]}`)},
		{status: http.StatusInternalServerError, body: []byte(`{}`)},
		{status: http.StatusServiceUnavailable, retryAfter: true, body: []byte(`{"data":null,"errors":[]}`)},
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As serveGraphQL writes an answer; the request names which.
		i, err := strconv.Atoi(r.Header.Get("X-Case"))
		if err != nil || i < 0 || i >= len(answers) {
			http.Error(w, "no case", http.StatusTeapot)
			return
		}
		current := answers[i]
		if current.retryAfter {
			w.Header().Set("Retry-After", "1")
		}
		writeBody(w, current.status, current.body)
	}))
	defer ts.Close()
	date := regexp.MustCompile(`Date: [^\r]*\r\n`)
	for i, a := range answers {
		t.Run(fmt.Sprint(a.status), func(t *testing.T) {
			c, err := net.Dial("tcp", ts.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			if _, err := io.WriteString(c, fmt.Sprintf("POST /graphql HTTP/1.1\r\nHost: h\r\nX-Case: %d\r\nContent-Length: 0\r\n\r\n", i)); err != nil {
				t.Fatal(err)
			}
			var raw bytes.Buffer
			resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(c, &raw)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatal(err)
			}
			var fc fastConn
			got := append(fc.appendHead(nil, &a, false), a.body...)
			if g, w := date.ReplaceAllString(string(got), ""), date.ReplaceAllString(raw.String(), ""); g != w {
				t.Errorf("fast path\n%q\nnet/http\n%q", g, w)
			}
			if !date.Match(got) {
				t.Errorf("no Date header: %q", got)
			}
		})
	}
}
