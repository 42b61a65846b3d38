// Package poll is test support with no module imports (so any package's
// own tests can use it): waiting for a condition, with a hang guard that is
// minutes long so that a loaded machine never fails a test by being slow.
package poll

import (
	"testing"
	"time"
)

// HangGuard is how long Until waits before it calls the wait a hang.
const HangGuard = 5 * time.Minute

// Until returns once cond holds, checking it every few milliseconds, and
// fails t naming what it waited for when HangGuard passes first.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(HangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not before the hang guard (%v): %s", HangGuard, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
