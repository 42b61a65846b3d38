// Package errtest is test support with no module imports (so storage's
// own tests can use it): checking that an error message names each
// package prefix once, as ARCHITECTURE.md's errors convention wants.
package errtest

import (
	"errors"
	"strings"
	"testing"
)

// Repeated returns the first of prefixes (each like "store: ") that msg
// names more than once, or "". A prefix counts where it starts msg or
// follows another's ": ", so "the data store: store: open" names "store: "
// once.
func Repeated(msg string, prefixes ...string) string {
	for _, p := range prefixes {
		n := strings.Count(msg, ": "+p)
		if strings.HasPrefix(msg, p) {
			n++
		}
		if n > 1 {
			return p
		}
	}
	return ""
}

// PrefixOnce fails t unless err is not nil, wraps sentinel (when not
// nil), and has a message that starts with prefix and names neither prefix
// nor any of others twice. what names the error path in the failure.
func PrefixOnce(t testing.TB, what string, err, sentinel error, prefix string, others ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("%s: %v does not wrap %v", what, err, sentinel)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		t.Errorf("%s: %q does not start with %q", what, msg, prefix)
	}
	if p := Repeated(msg, append([]string{prefix}, others...)...); p != "" {
		t.Errorf("%s: %q names %q more than once", what, msg, p)
	}
}
