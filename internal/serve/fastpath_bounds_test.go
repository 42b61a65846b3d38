package serve_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// roundTrip sends req on c and reads one response, which must be 200; the
// reader is dropped after, so that the test's side keeps no buffer.
func roundTrip(t *testing.T, c net.Conn, req string) int {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d, %v: %.200s", resp.StatusCode, err, b)
	}
	return len(b)
}

// TestFastPathIdleConnectionsHoldLittle has many keep-alive connections
// each fetch a big answer (about 50 KiB) and then idle, as a hostile
// client may to pin the server's memory until IdleTimeout: the heap each
// idle connection keeps must stay near net/http's (a 4 KiB read buffer),
// not hold its last answer's size.
func TestFastPathIdleConnectionsHoldLittle(t *testing.T) {
	clock := newClock()
	srv := serveOn(t, clock, true, nil)
	setup, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close()
	_ = setup.SetDeadline(time.Now().Add(frameWait))
	title := strings.Repeat("t", 8<<10)
	for i := range 6 {
		body := `{"query":` + strconv.Quote(wireCreatePost) + `,"variables":{"input":{"id":"big` + strconv.Itoa(i) + `","title":"` + title + `","rating":4,"status":"DRAFT"}}}`
		roundTrip(t, setup, httpReq(gqlHead, "", body))
	}
	list := httpReq(gqlHead, "", `{"query":"{ listPosts { items { id title } } }"}`)
	if n := roundTrip(t, setup, list); n < 40<<10 || n > 60<<10 {
		t.Fatalf("the answer is %d bytes, want 40-60 KiB", n)
	}
	setup.Close()

	const conns = 100
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(frameWait))
		roundTrip(t, c, list)
		cs[i] = c
	}
	after := heap()
	per := (int64(after) - int64(before)) / conns
	t.Logf("heap per idle connection: %d bytes", per)
	if per > 24<<10 {
		t.Errorf("each idle connection keeps %d bytes of heap, want under 24 KiB", per)
	}
	runtime.KeepAlive(cs)
}
