package testenv

import (
	"encoding/json"
	"errors"
	"os/exec"
	"syscall"
	"testing"
)

const echoPkg = "./internal/testenv/testdata/echo"

func TestRunGoProgramEcho(t *testing.T) {
	p := RunGoProgram(t, echoPkg, "alpha", "beta")
	var ready struct {
		Ready bool     `json:"ready"`
		Args  []string `json:"args"`
	}
	if line := p.NextLine(t, hangGuard); json.Unmarshal([]byte(line), &ready) != nil || !ready.Ready {
		t.Fatalf("first line %q, want the ready line", line)
	}
	if len(ready.Args) != 2 || ready.Args[0] != "alpha" || ready.Args[1] != "beta" {
		t.Fatalf("program got args %q", ready.Args)
	}

	for _, v := range []map[string]any{{"op": "save", "id": "1"}, {"op": "delete", "id": "2"}} {
		if err := p.Send(v); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		line := p.NextLine(t, hangGuard)
		if err := json.Unmarshal([]byte(line), &got); err != nil || got["op"] != v["op"] || got["id"] != v["id"] {
			t.Fatalf("sent %v, echoed %q", v, line)
		}
	}

	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if line := p.NextLine(t, hangGuard); line != `{"signal":"terminated"}` {
		t.Fatalf("after SIGTERM: %q", line)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, ok := <-p.Lines(); ok {
		t.Fatal("Lines still open after exit")
	}
}

func TestRunGoProgramKill(t *testing.T) {
	p := RunGoProgram(t, echoPkg)
	p.NextLine(t, hangGuard)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := p.Wait(); !errors.As(err, &ee) {
		t.Fatalf("Wait after Kill = %v, want an exit error", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("exit %v, want death by SIGKILL", ee)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited not closed after Kill")
	}
	if err := p.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}
	if err := p.Send(map[string]any{"x": 1}); err == nil {
		t.Fatal("Send to a killed program succeeded")
	}
}

func TestRunGoProgramExitStatus(t *testing.T) {
	p := RunGoProgram(t, echoPkg)
	p.NextLine(t, hangGuard)
	if err := p.Send(map[string]any{"exit": 3}); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := p.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}

	// Bad input reaches the program's stderr, readable by the test.
	q := RunGoProgram(t, echoPkg)
	q.NextLine(t, hangGuard)
	if _, err := q.stdin.Write([]byte("not json\n")); err != nil {
		t.Fatal(err)
	}
	if err := q.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("Wait = %v, want exit status 2", err)
	}
	contains(t, q.Stderr(), "stdin line is not JSON")
}

func TestRunGoProgramBadPackage(t *testing.T) {
	msg := expectFatal(t, func(tb testing.TB) { RunGoProgram(tb, "./internal/testenv/testdata/nosuchprogram") })
	contains(t, msg, "go build ./internal/testenv/testdata/nosuchprogram")
}
