//go:build !unix

package serve

// openFileLimit is 0 (unknown) where there is no RLIMIT_NOFILE: the
// connection cap then has no default.
func openFileLimit() uint64 { return 0 }
