package serve

import "testing"

// TestDefaultMaxConnections checks the cap left by the store's reserve of
// the open-file limit: a quarter, at least 1,024, at most half.
func TestDefaultMaxConnections(t *testing.T) {
	for nofile, want := range map[uint64]int{
		0:       0, // unknown: no cap
		256:     128,
		1024:    512,
		2048:    1024,
		4096:    3072,
		65536:   49152,
		1 << 20: 786432,
		1 << 63: 1<<31 - 1,
	} {
		if got := defaultMaxConnections(nofile); got != want {
			t.Errorf("defaultMaxConnections(%d) = %d, want %d", nofile, got, want)
		}
	}
}
