//go:build unix

package serve

import "syscall"

// openFileLimit is the process's RLIMIT_NOFILE (the soft limit, which Go
// raises to the hard one at start), 0 when it cannot be read. Unlimited
// reads as the largest value.
func openFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur)
}
