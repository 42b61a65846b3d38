package gqlexec

import "errors"

// errHalted is what a resolver call returns once the execution has stopped
// at a limit; the limit's error is reported instead.
var errHalted = errors.New("gqlexec: execution stopped at a limit")
