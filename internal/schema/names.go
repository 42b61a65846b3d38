package schema

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
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

// nonASCIIName explains a syntax error at pos that a non-ASCII letter in a
// name caused (the lexer only says "<Invalid>"): it names the whole word and
// the character, or returns "" when the error is something else.
func nonASCIIName(src string, pos Pos) string {
	lines := strings.Split(src, "\n")
	if pos.Line < 1 || pos.Line > len(lines) {
		return ""
	}
	line := []rune(lines[pos.Line-1])
	at := pos.Col - 1 // the lexer counts columns in runes, from 1
	if at < 0 || at >= len(line) || line[at] < utf8.RuneSelf {
		return ""
	}
	isWord := func(r rune) bool {
		return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	start, end := at, at+1
	for start > 0 && isWord(line[start-1]) {
		start--
	}
	for end < len(line) && isWord(line[end]) {
		end++
	}
	if !unicode.IsLetter(line[at]) && !unicode.IsDigit(line[at]) {
		return fmt.Sprintf("character %q (U+%04X) cannot appear here: GraphQL names and punctuation are ASCII", line[at], line[at])
	}
	return fmt.Sprintf("name %q has the non-ASCII character %q: GraphQL names may hold only ASCII letters, digits and _ ([_A-Za-z][_0-9A-Za-z]*), and Go and the AppSync API use them as written; rename it (for example %q)",
		string(line[start:end]), line[at], asciiFold(string(line[start:end])))
}

// asciiFold drops the accents of Latin letters and replaces any other
// non-ASCII rune with _, for a suggested name.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// a combining accent: dropped
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
