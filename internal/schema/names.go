package schema

import (
	"regexp"
	"strings"
)

// The naming helpers below reproduce how Amplify's model generator derives
// the names of the fields and models it adds, so generated names match
// Amplify's byte for byte.

// joinCamel joins words the way Amplify names implicit foreign keys: the
// first word with its first letter lower-cased, the others with their first
// letter upper-cased, the rest of each word untouched. Blog+posts+id ->
// blogPostsId.
func joinCamel(words ...string) string {
	var b strings.Builder
	for i, w := range words {
		if i == 0 {
			b.WriteString(lowerFirst(w))
		} else {
			b.WriteString(upperFirst(w))
		}
	}
	return b.String()
}

var (
	camelSplit1 = regexp.MustCompile(`([a-z0-9])([A-Z])`)
	camelSplit2 = regexp.MustCompile(`([A-Z])([A-Z][a-z])`)
	camelStrip  = regexp.MustCompile(`(?i)[^A-Z0-9]+`)
)

// camelCase is change-case's camelCase, which Amplify uses to name the
// model fields of a @manyToMany join model: words split at case changes and
// non-alphanumerics, the first word lower-cased, the others title-cased
// (HTTPServer -> httpServer, ManyLeft -> manyLeft).
func camelCase(s string) string {
	s = camelSplit1.ReplaceAllString(s, "$1\x00$2")
	s = camelSplit2.ReplaceAllString(s, "$1\x00$2")
	s = camelStrip.ReplaceAllString(s, "\x00")
	var b strings.Builder
	i := 0
	for _, w := range strings.Split(s, "\x00") {
		if w == "" {
			continue
		}
		switch {
		case i == 0:
			b.WriteString(strings.ToLower(w))
		case w[0] >= '0' && w[0] <= '9':
			b.WriteString("_" + strings.ToLower(w))
		default:
			b.WriteString(strings.ToUpper(w[:1]) + strings.ToLower(w[1:]))
		}
		i++
	}
	return b.String()
}

var graphqlNameStrip = regexp.MustCompile(`^[^_A-Za-z]+|[^_0-9A-Za-z]`)

// joinModelName names the join model of @manyToMany(relationName): the name
// with its first letter upper-cased and characters GraphQL does not allow in
// names dropped (leftRightJoin -> LeftRightJoin).
func joinModelName(relationName string) string {
	return graphqlNameStrip.ReplaceAllString(upperFirst(relationName), "")
}

// defaultIndexName names an @index without a name argument as the Amplify
// transformer does: lowerFirst(plural(Model)) + "By" + the key fields joined
// with "And" (Employee, [manager level] -> employeesByManagerAndLevel).
func defaultIndexName(model string, fields []string) string {
	up := make([]string, len(fields))
	for i, f := range fields {
		up[i] = upperFirst(f)
	}
	return lowerFirst(plural(model)) + "By" + strings.Join(up, "And")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
