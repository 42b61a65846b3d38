//go:build !linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// load sends n creates from clients concurrent clients, each waiting for
// its answer before the next, and fails on the first refused mutation: one
// goroutine and kept-alive connection per client (load_linux.go drives
// them all from one thread instead).
func load(ctx context.Context, target *url.URL, apiKey, prefix string, clients, n int) (result, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			cl, err := dial(ctx, target, apiKey)
			if err != nil {
				errs[c] = err
				next.Store(int64(n))
				return
			}
			defer cl.close()
			lat[c] = make([]time.Duration, 0, n/clients+1)
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				t := time.Now()
				if err := cl.create(prefix, i); err != nil {
					errs[c] = err
					next.Store(int64(n)) // stop the others
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), lat: slices.Concat(lat...)}
	slices.Sort(r.lat)
	return r, errors.Join(errs...)
}

// client is one kept-alive HTTP/1.1 connection that sends createPost
// requests one after another. It speaks just enough HTTP for that (one
// write per request, Content-Length bodies), so that the load generator
// spends little CPU per request and leaves the machine to the server; every
// answer is still read whole and checked.
type client struct {
	target *url.URL
	conn   net.Conn
	rd     *bufio.Reader
	head   []byte // the request line and headers, up to Content-Length's value
	req    []byte // reused request buffer
	body   []byte // reused answer buffer
	want   []byte // reused: the start the answer must have
}

func dial(ctx context.Context, target *url.URL, apiKey string) (*client, error) {
	if target.Scheme != "http" {
		return nil, fmt.Errorf("%s: only http:// URLs are supported", target)
	}
	conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", hostPort(target))
	if err != nil {
		return nil, err
	}
	return &client{target: target, conn: conn, rd: bufio.NewReaderSize(conn, 4096), head: requestHead(target, apiKey)}, nil
}

func (c *client) close() { _ = c.conn.Close() }

// create sends the create of post prefix+i and checks its answer: status
// 200, a JSON body with no errors whose createPost is the post with that id
// (the server writes fields in selection order, id first).
func (c *client) create(prefix string, i int64) error {
	var id []byte
	c.req, c.want, id = appendRequest(c.req[:0], c.want[:0], c.head, prefix, i)
	if err := c.conn.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		return err
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return fmt.Errorf("sending a request: %w", err)
	}
	status, err := c.readAnswer()
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	return check(status, c.body, c.want, id)
}

// readAnswer reads one response into c.body and returns its status code.
func (c *client) readAnswer() (int, error) {
	line, err := c.rd.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("status line %q: %w", line, err)
	}
	size := -1
	for {
		h, err := c.rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("malformed header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if size, err = strconv.Atoi(string(value)); err != nil || size < 0 {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, fmt.Errorf("Transfer-Encoding %q: loadgen reads Content-Length bodies only", value)
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			return 0, errors.New("the server closed the connection (Connection: close)")
		}
	}
	if size < 0 {
		return 0, errors.New("answer without Content-Length")
	}
	c.body = slices.Grow(c.body[:0], size)[:size]
	if _, err := io.ReadFull(c.rd, c.body); err != nil {
		return 0, err
	}
	return status, nil
}
