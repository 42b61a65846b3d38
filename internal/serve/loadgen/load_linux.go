//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// load sends n creates from clients concurrent clients, each waiting for
// its answer before the next, and fails on the first refused mutation. On
// Linux one OS thread drives every connection from one epoll set: the
// answers of a group commit arrive together and are handled in one wake-up
// instead of one goroutine wake-up (and often a thread switch) each, which
// takes less CPU from the server's cores. Every answer is still read whole
// and checked (check).
func load(ctx context.Context, target *url.URL, apiKey, prefix string, clients, n int) (result, error) {
	if target.Scheme != "http" {
		return result{}, fmt.Errorf("%s: only http:// URLs are supported", target)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	addr, err := net.ResolveTCPAddr("tcp", hostPort(target))
	if err != nil {
		return result{}, err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return result{}, fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(ep)
	cls := make([]*evClient, 0, clients)
	defer func() {
		for _, c := range cls {
			unix.Close(c.fd)
		}
	}()
	head := requestHead(target, apiKey)
	for i := range clients {
		fd, err := dialRaw(addr)
		if err != nil {
			return result{}, err
		}
		c := &evClient{fd: fd, head: head, buf: make([]byte, 0, 4096)}
		cls = append(cls, c)
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return result{}, fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	lat := make([]time.Duration, 0, n)
	next, done := int64(0), 0
	start := time.Now()
	for _, c := range cls {
		if next == int64(n) { // more clients than mutations: this one idles
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
				return result{}, fmt.Errorf("epoll_ctl: %w", err)
			}
			continue
		}
		next++
		if err := c.send(prefix, next); err != nil {
			return result{}, err
		}
	}
	events := make([]unix.EpollEvent, clients)
	for done < n {
		if err := ctx.Err(); err != nil {
			return result{}, err
		}
		k, err := epollWait(ep, events, int(time.Minute/time.Millisecond))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return result{}, fmt.Errorf("epoll_wait: %w", err)
		}
		if k == 0 {
			return result{}, fmt.Errorf("no answer for a minute (%d of %d answered)", done, n)
		}
		for _, ev := range events[:k] {
			c := cls[ev.Fd]
			complete, err := c.receive()
			if err != nil {
				return result{}, err
			}
			if !complete {
				continue
			}
			lat = append(lat, time.Since(c.sent))
			done++
			if next < int64(n) {
				next++
				if err := c.send(prefix, next); err != nil {
					return result{}, err
				}
				continue
			}
			// Nothing more to send on this connection: what it reports
			// from now on (the server closing it when idle) is no answer.
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, c.fd, nil); err != nil {
				return result{}, fmt.Errorf("epoll_ctl: %w", err)
			}
		}
	}
	r := result{elapsed: time.Since(start), lat: lat}
	slices.Sort(r.lat)
	return r, nil
}

// dialRaw connects a non-blocking TCP socket to addr outside Go's network
// poller, so that only load's epoll set hears of it.
func dialRaw(addr *net.TCPAddr) (int, error) {
	var sa unix.Sockaddr
	family := unix.AF_INET
	if ip4 := addr.IP.To4(); ip4 != nil {
		sa = &unix.SockaddrInet4{Port: addr.Port, Addr: [4]byte(ip4)}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: addr.Port, Addr: [16]byte(addr.IP.To16())}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(fd, sa); err != nil { // blocking: loopback answers at once
		unix.Close(fd)
		return -1, fmt.Errorf("connecting to %v: %w", addr, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// evClient is one connection of load: one request in flight at a time.
type evClient struct {
	fd   int
	head []byte // the request line and headers, up to Content-Length's value
	req  []byte // reused request buffer
	want []byte // the start the answer must have
	id   []byte // the post id, inside want
	buf  []byte // the answer read so far
	sent time.Time
}

// send writes the create of post prefix+i whole.
func (c *evClient) send(prefix string, i int64) error {
	c.req, c.want, c.id = appendRequest(c.req[:0], c.want[:0], c.head, prefix, i)
	c.buf = c.buf[:0]
	c.sent = time.Now()
	for b := c.req; len(b) > 0; {
		w, err := rawWrite(c.fd, b)
		if errors.Is(err, unix.EAGAIN) {
			// The socket buffer is full (never seen with one request in
			// flight): wait until it drains.
			if _, err := unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLOUT}}, int(time.Minute/time.Millisecond)); err != nil && !errors.Is(err, unix.EINTR) {
				return fmt.Errorf("sending a request: %w", err)
			}
			continue
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sending a request: %w", err)
		}
		b = b[w:]
	}
	return nil
}

// receive reads what the socket holds and reports whether the answer is
// complete, having checked it then.
func (c *evClient) receive() (bool, error) {
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = slices.Grow(c.buf, cap(c.buf))
		}
		r, err := rawRead(c.fd, c.buf[len(c.buf):cap(c.buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			return false, nil // level-triggered: the next wait reports more
		}
		if err != nil {
			return false, fmt.Errorf("reading the answer: %w", err)
		}
		if r == 0 {
			return false, fmt.Errorf("reading the answer: the server closed the connection after %d bytes", len(c.buf))
		}
		c.buf = c.buf[:len(c.buf)+r]
		status, body, complete, err := parseAnswer(c.buf)
		if err != nil {
			return false, fmt.Errorf("reading the answer: %w", err)
		}
		if !complete {
			continue
		}
		return true, check(status, body, c.want, c.id)
	}
}

// parseAnswer parses one HTTP/1.1 response from b: its status and body
// once b holds all of it (complete), an error when b holds anything else
// or more than one response.
func parseAnswer(b []byte) (status int, body []byte, complete bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return 0, nil, false, nil
	}
	head := b[:end]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false, fmt.Errorf("not an HTTP/1 status line: %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("status line %q: %w", line, err)
	}
	size := -1
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("malformed header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if size, err = strconv.Atoi(string(value)); err != nil || size < 0 {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, nil, false, fmt.Errorf("Transfer-Encoding %q: loadgen reads Content-Length bodies only", value)
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			return 0, nil, false, errors.New("the server closed the connection (Connection: close)")
		}
	}
	if size < 0 {
		return 0, nil, false, errors.New("answer without Content-Length")
	}
	body = b[end+4:]
	switch {
	case len(body) < size:
		return 0, nil, false, nil
	case len(body) > size:
		return 0, nil, false, fmt.Errorf("%d bytes after the answer's body, with no request outstanding", len(body)-size)
	}
	return status, body, true, nil
}

// The system calls of load's loop are made raw, without telling the Go
// scheduler: the sockets are non-blocking, and the one call that blocks,
// epoll_wait, returns EINTR when the runtime signals the goroutine (to
// preempt it or stop the world), which the loop retries. Through the
// scheduler, the one goroutine that never parks would have its P taken in
// a system call every 10ms (its scheduling tick never moves), and after
// each such take the runtime's monitor polls every 20µs again, a thread
// wake-up each: a good part of load's own CPU time.

// epollWait is unix.EpollWait as a raw system call.
func epollWait(ep int, events []unix.EpollEvent, msec int) (int, error) {
	var p unsafe.Pointer
	if len(events) > 0 {
		p = unsafe.Pointer(&events[0])
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(p), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRead is unix.Read of a non-blocking socket as a raw system call.
func rawRead(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawWrite is unix.Write of a non-blocking socket as a raw system call.
func rawWrite(fd int, b []byte) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(p), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
