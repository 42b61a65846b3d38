package syncengine

import "errors"

// errOffline ends a session when the backend stops answering mutations.
var errOffline = errors.New("syncengine: backend unreachable")
