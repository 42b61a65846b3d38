package engine

import (
	"errors"
	"fmt"
	"strings"
)

// The engine's errors are package datastore's: they reach users through it
// and carry its prefix. Errorf puts the prefix in once, however deep a
// message wraps others of the package.

// Prefix starts every error message of package datastore, the engine's
// included.
const Prefix = "datastore: "

// ErrDamaged marks records the engine cannot read.
var ErrDamaged = errors.New(Prefix + "damaged record")

// ErrStop ends a scan early; it never leaves the datastore.
var ErrStop = errors.New("stop")

// Errorf is fmt.Errorf for errors of package datastore: its message is
// Prefix followed by the formatted text with Prefix taken out of the
// errors it wraps ("datastore: Post p1: record not found", not "datastore:
// Post p1: datastore: record not found"). It unwraps to what fmt.Errorf
// would return, so errors.Is and errors.As see the wrapped errors.
func Errorf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &prefixed{msg: Once(err.Error()), err: err}
}

// Once returns msg with Prefix in front and nowhere else. (A value that
// itself contains "datastore: " would lose it; messages quote names and
// keys, where that does not occur in practice.)
func Once(msg string) string {
	return Prefix + strings.ReplaceAll(msg, Prefix, "")
}

// prefixed is an error whose message was fixed by Errorf.
type prefixed struct {
	msg string
	err error
}

func (e *prefixed) Error() string { return e.msg }
func (e *prefixed) Unwrap() error { return e.err }
