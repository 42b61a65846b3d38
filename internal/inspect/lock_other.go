//go:build !unix

package inspect

// lockHeld cannot probe the lock here; Badger's open reports it.
func lockHeld(string) bool { return false }
