// Package archtest holds the tests that keep the module's import graph to
// the rules of ARCHITECTURE.md (at the module root), its package map
// complete, and hand-written functions within 120 lines unless their doc
// comment says why they are long. It has no code of its own.
package archtest
