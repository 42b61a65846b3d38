package dynamo

import (
	"errors"
	"fmt"
)

// Errors callers branch on.
var (
	// ErrNotEmpty: the store already holds records and the import was not
	// asked to merge.
	ErrNotEmpty = errors.New("dynamo: the store is not empty")
	// ErrNoModel: an input names a table whose model the schema lacks.
	ErrNoModel = errors.New("dynamo: no such model")
)

// InputError is a bad item in an input file: the file, the line (1-based;
// the line where the item starts) and, when one is to blame, the attribute
// path ("title", "tags[2]", "address.city").
type InputError struct {
	File string
	Line int
	Attr string
	Err  error
}

// Error names the place, the attribute and what is wrong.
func (e *InputError) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Attr != "" {
		return fmt.Sprintf("dynamo: %s: attribute %s: %v", where, e.Attr, e.Err)
	}
	return fmt.Sprintf("dynamo: %s: %v", where, e.Err)
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// attrError is a conversion error inside one item; the reader adds the
// file and line.
type attrError struct {
	path string
	err  error
}

// Error names the attribute path and the cause.
func (e *attrError) Error() string { return e.path + ": " + e.err.Error() }

func attrErr(path, format string, args ...any) error {
	return &attrError{path: path, err: fmt.Errorf(format, args...)}
}
