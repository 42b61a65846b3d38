package testenv

import "errors"

// errAddrInUse marks a start that failed because the port was still held;
// Restart retries it.
var errAddrInUse = errors.New("testenv: address already in use")
