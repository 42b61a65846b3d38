package sdl

// upperFirst upper-cases the first ASCII letter, as Amplify's toUpper does.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// lowerFirst lower-cases the first ASCII letter.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]-'A'+'a') + s[1:]
}

// camelJoin joins key field names as Amplify's toCamelCase does:
// ["kind", "other"] -> "kindOther".
func camelJoin(words []string) string {
	out := ""
	for i, w := range words {
		if i == 0 {
			out += lowerFirst(w)
		} else {
			out += upperFirst(w)
		}
	}
	return out
}
