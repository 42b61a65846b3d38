package schema

import "github.com/dsgen/dsgen/templates/names"

// GoName is the Go identifier the generator gives a GraphQL name
// (names.GoName); validation checks these names for collisions.
func GoName(s string) string { return names.GoName(s) }
