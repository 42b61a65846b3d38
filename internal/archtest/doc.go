// Package archtest holds the test that keeps the module's import graph to
// the rules of ARCHITECTURE.md (at the module root) and its package map
// complete. It has no code of its own.
package archtest
