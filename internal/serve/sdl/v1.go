package sdl

import (
	"slices"

	"github.com/dsgen/dsgen/runtime/meta"
)

// The API of a transformer v1 schema (meta.Schema.TransformerV1) differs from
// the v2 API where the v1 transformers generated a different shape:
//
//   - Owner-auth subscriptions take one argument, owner, whatever the owner
//     fields are named, and it is required (String!) unless a static groups
//     rule also grants access (graphql-auth-transformer v1,
//     addSubscriptionOwnerArgument). Only rules on the default owner field
//     add it. v1 gives rules with a custom ownerField no argument, which
//     left owners unable to subscribe; dsgen keeps the v2 optional
//     arguments for them, so each subscriber still sees only its records.
//   - The foreign keys of @connection fields (meta.Field.Hidden) are
//     fields of the object types too, where v1 put them in the mutation
//     inputs only: a superset, so v1 clients' documents validate and
//     clients that select them (the Go sync engine) receive them.

// v1OwnerArgs returns the owner arguments of m's subscriptions in a v1
// API and their GraphQL type.
func v1OwnerArgs(m *meta.Model) ([]string, string) {
	if args := ownerArgs(m); !slices.Contains(args, "owner") {
		return args, "String"
	}
	for _, r := range m.Auth {
		if r.Allow == "groups" && r.GroupsField == "" {
			return []string{"owner"}, "String" // static groups may subscribe without it
		}
	}
	return []string{"owner"}, "String!"
}
