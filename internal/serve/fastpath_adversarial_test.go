package serve_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestFastPathHostileStreamsMatchNetHTTP is TestFastPathMatchesNetHTTP
// for the request streams a hostile client or a confused proxy sends:
// every way to state or misstate a body's length, heads net/http reads
// differently from the obvious, targets and versions next to the one the
// fast path serves, and pipelines that leave the fast path mid-buffer.
// Each stream goes byte for byte to a server with the fast path and to one
// with net/http alone; every response byte but the Date value must match.
func TestFastPathHostileStreamsMatchNetHTTP(t *testing.T) {
	clock := newClock()
	fast := serveOn(t, clock, true, nil)
	slow := serveOn(t, clock, false, nil)
	q := `{"query":"query Q($id: ID!) { getPost(id: $id) { id title _version } }","variables":{"id":"p1"}}`
	fastReq := httpReq(gqlHead, "", q)
	health := "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n"
	// padded is a fast-path request exactly n bytes long.
	padded := func(n int) string {
		r := httpReq(gqlHead+"\r\nX-Pad: ", "", q)
		return httpReq(gqlHead+"\r\nX-Pad: "+strings.Repeat("p", n-len(r)), "", q)
	}
	// bodyOf is a request body of exactly n bytes the server answers.
	bodyOf := func(n int) string {
		b := `{"query":"{ listPosts { items { id } } }","x":""}`
		return b[:len(b)-2] + strings.Repeat("x", n-len(b)) + `"}`
	}
	many := strings.Repeat(fastReq, 300)
	cases := []struct {
		name  string
		parts []string
		n     int
		eof   bool
	}{
		// Lengths.
		{name: "length one short (next request eats a byte)", parts: []string{httpReq(gqlHead, fmt.Sprint(len(q)-1), q) + fastReq}, n: 2, eof: true},
		{name: "length one long (eats the next request's first byte)", parts: []string{httpReq(gqlHead, fmt.Sprint(len(q)+1), q) + fastReq}, n: 2},
		{name: "leading zeros", parts: []string{httpReq(gqlHead, "000"+fmt.Sprint(len(q)), q) + fastReq}, n: 2},
		{name: "spaces around the length", parts: []string{httpReq(gqlHead, " \t"+fmt.Sprint(len(q))+" \t", q) + fastReq}, n: 2},
		{name: "length list", parts: []string{httpReq(gqlHead, fmt.Sprintf("%d, %d", len(q), len(q)), q)}, n: 1, eof: true},
		{name: "same length twice", parts: []string{httpReq(gqlHead+fmt.Sprintf("\r\nContent-Length: %d", len(q)), "", q) + fastReq}, n: 2},
		{name: "same length twice, spaced", parts: []string{httpReq(gqlHead+fmt.Sprintf("\r\ncontent-length:  %d", len(q)), "", q) + fastReq}, n: 2},
		{name: "huge length", parts: []string{httpReq(gqlHead, "99999999999999999999", q)}, n: 1, eof: true},
		{name: "negative length", parts: []string{httpReq(gqlHead, "-1", q)}, n: 1, eof: true},
		{name: "hex length", parts: []string{httpReq(gqlHead, "0x10", q)}, n: 1, eof: true},
		{name: "empty length", parts: []string{httpReq(gqlHead, " ", q)}, n: 1, eof: true},
		{name: "zero length, bytes after", parts: []string{httpReq(gqlHead, "0", q)}, n: 1},
		{name: "length and chunked", parts: []string{gqlHead + "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(q), q) + fastReq}, n: 2},
		{name: "chunked and length", parts: []string{gqlHead + "\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(q), q) + fastReq}, n: 2},
		{name: "identity encoding", parts: []string{httpReq(gqlHead+"\r\nTransfer-Encoding: identity", "", q)}, n: 1, eof: true},
		{name: "chunked, gzip", parts: []string{httpReq(gqlHead+"\r\nTransfer-Encoding: gzip, chunked", "none", "0\r\n\r\n")}, n: 1, eof: true},
		{name: "length body cap exactly", parts: []string{httpReq(gqlHead, "", bodyOf(64<<10)) + fastReq}, n: 2},
		{name: "length body cap plus one", parts: []string{httpReq(gqlHead, "", bodyOf(64<<10+1)) + fastReq}, n: 2},

		// Heads.
		{name: "folded length", parts: []string{httpReq(gqlHead+fmt.Sprintf("\r\nContent-Length: %d\r\n 1", len(q)), "none", q)}, n: 1, eof: true},
		{name: "folded credential", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: da2\r\n\t"+testAPIKey[3:], "", q)}, n: 1},
		{name: "bare CR in a value", parts: []string{httpReq(gqlHead+"\r\nX-Thing: a\rContent-Length: 1", "", q)}, n: 1, eof: true},
		{name: "bare LF in the middle", parts: []string{httpReq(gqlHead+"\nX-Thing: a", "", q) + fastReq}, n: 2},
		{name: "NUL in a value", parts: []string{httpReq(gqlHead+"\r\nX-Thing: a\x00b", "", q)}, n: 1, eof: true},
		{name: "NUL in a name", parts: []string{httpReq(gqlHead+"\r\nX-Th\x00ing: ab", "", q)}, n: 1, eof: true},
		{name: "NUL in the target", parts: []string{httpReq("POST /graphql\x00 HTTP/1.1\r\nHost: h", "", q)}, n: 1, eof: true},
		{name: "space before the colon", parts: []string{httpReq(gqlHead+fmt.Sprintf("\r\nContent-Length : %d", len(q)), "none", q)}, n: 1, eof: true},
		{name: "tab before the colon", parts: []string{httpReq(gqlHead+"\r\nX-Thing\t: a", "", q)}, n: 1, eof: true},
		{name: "space before the first header", parts: []string{httpReq("POST /graphql HTTP/1.1\r\n Host: h\r\nX-Api-Key: "+testAPIKey, "", q)}, n: 1, eof: true},
		{name: "empty header name", parts: []string{httpReq(gqlHead+"\r\n: a", "", q)}, n: 1, eof: true},
		{name: "high bytes in a value", parts: []string{httpReq(gqlHead+"\r\nX-Thing: \xff\xfe\x80", "", q) + fastReq}, n: 2},
		{name: "DEL in a value", parts: []string{httpReq(gqlHead+"\r\nX-Thing: a\x7f", "", q)}, n: 1, eof: true},
		{name: "empty host", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost:\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "bad host", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: a b\r\nX-Api-Key: "+testAPIKey, "", q)}, n: 1, eof: true},
		{name: "host with a slash", parts: []string{httpReq("POST /graphql HTTP/1.1\r\nHost: a/b\r\nX-Api-Key: "+testAPIKey, "", q)}, n: 1, eof: true},
		{name: "two keys", parts: []string{httpReq(gqlHead+"\r\nx-api-key: da2-nope", "", q) + httpReq("POST /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: da2-nope\r\nX-Api-Key: "+testAPIKey, "", q)}, n: 2},
		{name: "two authorizations", parts: []string{httpReq(gqlHead+"\r\nAuthorization: a\r\nauthorization: b", "", q)}, n: 1},
		{name: "head cap exactly", parts: []string{padded(8<<10-len(q)) + fastReq}, n: 2},
		{name: "head cap plus one", parts: []string{padded(8<<10-len(q)+1) + fastReq}, n: 2},
		{name: "expect, lower case", parts: []string{httpReq(gqlHead+"\r\nexpect: 100-continue", "", q)}, n: 2},
		{name: "unknown expectation", parts: []string{httpReq(gqlHead+"\r\nExpect: 200-ok", "", q)}, n: 1, eof: true},
		{name: "upgrade", parts: []string{httpReq(gqlHead+"\r\nConnection: Upgrade\r\nUpgrade: websocket", "", q)}, n: 1},
		{name: "trailer", parts: []string{httpReq(gqlHead+"\r\nTrailer: X-Y", "", q) + fastReq}, n: 2},

		// Targets, methods and versions.
		{name: "absolute form", parts: []string{httpReq("POST http://example.test/graphql HTTP/1.1\r\nHost: example.test\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "absolute form, other host", parts: []string{httpReq("POST http://other.test/graphql HTTP/1.1\r\nHost: example.test\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "asterisk form", parts: []string{httpReq("POST * HTTP/1.1\r\nHost: h", "", q)}, n: 1, eof: true},
		{name: "query string, empty", parts: []string{httpReq("POST /graphql? HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "query string x", parts: []string{httpReq("POST /graphql?x HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "trailing slash", parts: []string{httpReq("POST /graphql/ HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "dot segment", parts: []string{httpReq("POST /x/../graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "double slash", parts: []string{httpReq("POST //graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "escaped path", parts: []string{httpReq("POST /%67raphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "fragment", parts: []string{httpReq("POST /graphql#x HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "lower-case method", parts: []string{httpReq("post /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "PUT", parts: []string{httpReq("PUT /graphql HTTP/1.1\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "two spaces", parts: []string{httpReq("POST  /graphql HTTP/1.1\r\nHost: h", "", q)}, n: 1, eof: true},
		{name: "lower-case version", parts: []string{httpReq("POST /graphql http/1.1\r\nHost: h", "", q)}, n: 1, eof: true},
		{name: "HTTP/1.2", parts: []string{httpReq("POST /graphql HTTP/1.2\r\nHost: h\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "HTTP/2.0", parts: []string{httpReq("POST /graphql HTTP/2.0\r\nHost: h", "", q)}, n: 1, eof: true},
		{name: "HTTP/1.0 keep-alive", parts: []string{httpReq("POST /graphql HTTP/1.0\r\nConnection: keep-alive\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 2},
		{name: "HTTP/1.0 then close", parts: []string{httpReq("POST /graphql HTTP/1.0\r\nX-Api-Key: "+testAPIKey, "", q) + fastReq}, n: 1, eof: true},
		{name: "close, keep-alive", parts: []string{httpReq(gqlHead+"\r\nConnection: close, keep-alive", "", q) + fastReq}, n: 1, eof: true},
		{name: "keep-alive, close", parts: []string{httpReq(gqlHead+"\r\nConnection: keep-alive, close", "", q) + fastReq}, n: 1, eof: true},
		{name: "keep-alive then close lines", parts: []string{httpReq(gqlHead+"\r\nConnection: keep-alive\r\nConnection: close", "", q) + fastReq}, n: 1, eof: true},
		{name: "CLOSE", parts: []string{httpReq(gqlHead+"\r\nConnection: CLOSE", "", q) + fastReq}, n: 1, eof: true},
		{name: "proxy-connection close", parts: []string{httpReq(gqlHead+"\r\nProxy-Connection: close", "", q) + fastReq}, n: 2},

		// Pipelines that leave the fast path.
		{name: "fast, chunked, fast", parts: []string{fastReq + gqlHead + "\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(q), q) + fastReq}, n: 3},
		{name: "fast, GET split, fast", parts: []string{fastReq + "GET /hea", "lthz HTTP/1.1\r\nHost: h\r\n\r\n" + fastReq}, n: 3},
		{name: "fast, prefix of a fast head that turns", parts: []string{fastReq + "POST /graphql HTTP/1.1\r\nHost: h\r\n", "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + fastReq}, n: 3},
		{name: "handoff at the first buffer's end", parts: []string{padded(4<<10) + health + fastReq}, n: 3},
		{name: "handoff one past the first buffer", parts: []string{padded(4<<10+1) + health + fastReq}, n: 3},
		{name: "handoff one before the first buffer's end", parts: []string{padded(4<<10-1) + health + fastReq}, n: 3},
		{name: "handoff at the first buffer's end, two writes", parts: []string{padded(4 << 10), health + fastReq}, n: 3},
		{name: "300 pipelined", parts: []string{many}, n: 300},
		{name: "300 pipelined then GET", parts: []string{many + health}, n: 301},
		{name: "garbage after a fast request", parts: []string{fastReq + "\x16\x03\x01\x00"}, n: 1},
		{name: "empty lines before a request", parts: []string{"\r\n\r\n" + fastReq + fastReq}, n: 1, eof: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := exchange(t, slow.addr, c.parts, c.n, false, c.eof)
			got := exchange(t, fast.addr, c.parts, c.n, false, c.eof)
			if got != want {
				t.Errorf("fast path answered\n%q\nnet/http answered\n%q", got, want)
			}
		})
	}
}
