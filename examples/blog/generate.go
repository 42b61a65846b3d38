// Command blog shows dsgen end to end on the blog schema: typed models,
// predicates and repositories generated into ./model.
package main

//go:generate go run github.com/dsgen/dsgen/cmd/dsgen generate -q --schema schema.graphql --out ./model --introspection model/model-introspection.json
