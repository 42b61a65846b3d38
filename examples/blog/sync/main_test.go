package main

import "testing"

// TestRun runs the example end to end: a backend, two clients, an offline
// edit, convergence. run fails if any step does not happen.
func TestRun(t *testing.T) {
	if err := run(t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
