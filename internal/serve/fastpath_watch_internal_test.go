package serve

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestClientWatchEndsWithItsRequest asks a request's context for Done
// after the request was answered, as a goroutine the request left behind
// might: no read may start on the connection then, or it would take the
// next request's first byte (and race the connection's own reads).
func TestClientWatchEndsWithItsRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	c := &fastConn{nc: sc.(*net.TCPConn)}

	for _, early := range []bool{true, false} {
		w := &clientWatch{Context: context.Background(), c: c}
		if early {
			_ = w.Done() // during the request: the watch runs
		}
		if gone := w.finish(); gone {
			t.Fatal("finish says the client left")
		}
		if w.Done(); !early && w.readDone != nil {
			t.Fatal("Done after finish started a read on the connection")
		}
		if _, err := client.Write([]byte{'P'}); err != nil {
			t.Fatal(err)
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Minute))
		c.rbuf = c.rbuf[:0]
		if err := c.fill(16); err != nil || string(c.rbuf) != "P" {
			t.Fatalf("the next request's byte: %q, %v", c.rbuf, err)
		}
	}
}
