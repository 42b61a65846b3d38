//go:build !unix

package store_test

import (
	"testing"
	"time"
)

// processCPU returns 0: getrusage is Unix-only, so the benchmarks leave out
// their CPU figure here.
func processCPU(*testing.B) time.Duration { return 0 }
