package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Proc is a Go program started by RunGoProgram. Its stdout arrives line by
// line on Lines; Send writes JSON lines to its stdin.
type Proc struct {
	cmd   *exec.Cmd
	lines chan string
	quit  chan struct{} // closed at cleanup: the stdout reader stops delivering
	// exited is closed once the process has been reaped; err is its exit.
	exited chan struct{}
	err    error
	// read is closed once stdout has been read to its end.
	read chan struct{}

	inMu  sync.Mutex     // serialises Send and CloseStdin
	stdin io.WriteCloser // nil once closed

	errMu  sync.Mutex // a separate lock: a Send blocked on a full pipe must not stall stderr
	stderr bytes.Buffer
}

// RunGoProgram builds pkg, a main package of this module ("./cmd/x", a
// directory under testdata, or a full import path), once per test binary,
// and starts it with args. The process is killed, if still running, when the
// test ends.
func RunGoProgram(t testing.TB, pkg string, args ...string) *Proc {
	t.Helper()
	bin := buildPackage(t, pkg)
	cmd := exec.Command(bin, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("testenv: RunGoProgram %s: %v", pkg, err)
	}
	// A pipe of our own, not StdoutPipe: Wait must not depend on someone
	// reading Lines.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("testenv: RunGoProgram %s: %v", pkg, err)
	}
	cmd.Stdout = pw
	p := &Proc{
		cmd:    cmd,
		lines:  make(chan string, 64),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
		read:   make(chan struct{}),
		stdin:  stdin,
	}
	cmd.Stderr = lockedWriter{&p.errMu, &p.stderr}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("testenv: RunGoProgram %s: %v", pkg, err)
	}
	pw.Close()
	go p.readLines(pr)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.Kill()
		close(p.quit)
		<-p.read
	})
	return p
}

// lockedWriter lets the exec package's copying goroutine append to a
// buffer that Stderr reads concurrently.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *Proc) readLines(r io.ReadCloser) {
	defer close(p.read)
	defer close(p.lines)
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			select {
			case p.lines <- line:
			case <-p.quit:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Lines delivers the program's stdout, one line at a time without the
// newline, and is closed when stdout ends.
func (p *Proc) Lines() <-chan string { return p.lines }

// NextLine returns the next stdout line, failing the test if stdout ends
// first or nothing arrives within timeout.
func (p *Proc) NextLine(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("testenv: %s: stdout ended; stderr:\n%s", p.cmd.Path, p.Stderr())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("testenv: %s: no stdout line within %v; stderr:\n%s", p.cmd.Path, timeout, p.Stderr())
	}
	return ""
}

// Send writes v to the program's stdin as one line of JSON.
func (p *Proc) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("testenv: Send: %w", err)
	}
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.stdin == nil {
		return errors.New("testenv: Send: stdin is closed")
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("testenv: Send: %w", err)
	}
	return nil
}

// CloseStdin closes the program's stdin, so it reads end of file.
func (p *Proc) CloseStdin() error {
	p.inMu.Lock()
	defer p.inMu.Unlock()
	if p.stdin == nil {
		return nil
	}
	err := p.stdin.Close()
	p.stdin = nil
	return err
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("testenv: signal %v: %w", sig, err)
	}
	return nil
}

// Kill sends SIGKILL, as kill -9 does, and returns once the process is
// gone. Killing a process that already exited is not an error.
func (p *Proc) Kill() error {
	err := p.cmd.Process.Kill()
	<-p.exited
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testenv: kill: %w", err)
	}
	return nil
}

// Wait waits for the process to exit and returns its exit error (an
// *exec.ExitError for a non-zero status or a signal). Any number of callers
// may wait.
func (p *Proc) Wait() error {
	<-p.exited
	return p.err
}

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Stderr returns what the program wrote to stderr so far.
func (p *Proc) Stderr() string {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.stderr.String()
}
