// Package names holds the naming rules of generated code: how a GraphQL
// name becomes a Go identifier and how an output directory becomes a Go
// package name. The generator (templates) emits these names, and the schema
// front end (internal/schema) checks the same names for collisions before
// anything is generated, so both import this package; it imports nothing of
// dsgen's.
package names

import (
	"path/filepath"
	"strings"
	"unicode"
)

// GoName converts a GraphQL field, type or enum value name into an exported Go
// identifier: the first letter upper-cased, underscores and dashes dropped
// with the next letter upper-cased, and common initialisms (ID, URL, JSON...)
// upper-cased as Go style asks: blogPostsId -> BlogPostsID, SCREAMING_CASE ->
// ScreamingCase.
func GoName(s string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	allUpper := strings.ToUpper(s) == s
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
		case unicode.IsUpper(r) && !allUpper && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
			(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	var out strings.Builder
	for _, w := range words {
		up := strings.ToUpper(w)
		if initialism(up) {
			out.WriteString(up)
			continue
		}
		lw := []rune(strings.ToLower(w))
		if !allUpper {
			lw = []rune(w)
		}
		lw[0] = unicode.ToUpper(lw[0])
		out.WriteString(string(lw))
	}
	res := out.String()
	if res == "" || !unicode.IsLetter([]rune(res)[0]) {
		res = "X" + res
	}
	return res
}

func initialism(w string) bool {
	switch w {
	case "ID", "URL", "URI", "JSON", "HTTP", "HTTPS", "IP", "API", "UUID", "SQL", "HTML", "XML", "SSN", "CPU", "DNS", "TTL", "UI", "UID":
		return true
	}
	return false
}

// Package is the Go package name of a generated package in directory dir
// when none is configured: its base name, lower-cased, less '-', '.' and
// '_'.
func Package(dir string) string {
	return strings.ToLower(strings.NewReplacer("-", "", ".", "", "_", "").Replace(filepath.Base(dir)))
}
