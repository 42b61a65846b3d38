package schema

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// plural returns the English plural of a model name the way Amplify's model
// generator computes pluralName (the npm package pluralize 8.0.0, which
// appsync-modelgen-plugin uses with improvePluralization=false): whole-word
// irregulars (Person -> People), words that are already plural or
// uncountable stay as they are (PostTags, Series), otherwise the last
// matching suffix rule applies (Blog -> Blogs, Category -> Categories). The
// rules look at the whole name, so only its ending matters for compound
// names (BlogPost -> BlogPosts).
func plural(word string) string {
	token := strings.ToLower(word)
	if _, ok := irregularPlurals[token]; ok {
		return restoreCase(word, token)
	}
	if p, ok := irregularSingles[token]; ok {
		return restoreCase(word, p)
	}
	if token == "" || uncountables[token] {
		return word
	}
	for i := len(pluralRules) - 1; i >= 0; i-- {
		r := pluralRules[i]
		loc := r.re.FindStringSubmatchIndex(word)
		if loc == nil {
			continue
		}
		match := word[loc[0]:loc[1]]
		result := interpolate(r.repl, word, loc)
		if match == "" {
			// The character before an empty match decides the case.
			prev := ""
			if loc[0] > 0 {
				_, size := utf8.DecodeLastRuneInString(word[:loc[0]])
				prev = word[loc[0]-size : loc[0]]
			}
			result = restoreCase(prev, result)
		} else {
			result = restoreCase(match, result)
		}
		return word[:loc[0]] + result + word[loc[1]:]
	}
	return word
}

// restoreCase gives token the case pattern of word: exact, lower, upper or
// title case.
func restoreCase(word, token string) string {
	switch {
	case word == token:
		return token
	case word == strings.ToLower(word):
		return strings.ToLower(token)
	case word == strings.ToUpper(word):
		return strings.ToUpper(token)
	}
	r, _ := utf8.DecodeRuneInString(word)
	if unicode.ToUpper(r) == r {
		if token == "" {
			return token
		}
		t, size := utf8.DecodeRuneInString(token)
		return string(unicode.ToUpper(t)) + strings.ToLower(token[size:])
	}
	return strings.ToLower(token)
}

var interpolateRE = regexp.MustCompile(`\$(\d{1,2})`)

// interpolate expands $0..$99 in repl with the groups of a match (absent
// groups expand to nothing).
func interpolate(repl, word string, loc []int) string {
	return interpolateRE.ReplaceAllStringFunc(repl, func(s string) string {
		n, _ := strconv.Atoi(s[1:])
		if 2*n+1 >= len(loc) || loc[2*n] < 0 {
			return ""
		}
		return word[loc[2*n]:loc[2*n+1]]
	})
}

type pluralRule struct {
	re   *regexp.Regexp
	repl string
}

var (
	irregularSingles = map[string]string{} // single -> plural
	irregularPlurals = map[string]string{} // plural -> single
	uncountables     = map[string]bool{}
	pluralRules      []pluralRule
)

func init() {
	irregular := [][2]string{
		{"I", "we"}, {"me", "us"}, {"he", "they"}, {"she", "they"}, {"them", "them"},
		{"myself", "ourselves"}, {"yourself", "yourselves"}, {"itself", "themselves"},
		{"herself", "themselves"}, {"himself", "themselves"}, {"themself", "themselves"},
		{"is", "are"}, {"was", "were"}, {"has", "have"}, {"this", "these"}, {"that", "those"},
		{"echo", "echoes"}, {"dingo", "dingoes"}, {"graffito", "graffiti"}, {"volcano", "volcanoes"},
		{"tornado", "tornadoes"}, {"torpedo", "torpedoes"},
		{"genus", "genera"}, {"viscus", "viscera"},
		{"stigma", "stigmata"}, {"stoma", "stomata"}, {"dogma", "dogmata"}, {"lemma", "lemmata"},
		{"schema", "schemata"}, {"anathema", "anathemata"},
		{"ox", "oxen"}, {"axe", "axes"}, {"die", "dice"}, {"yes", "yeses"}, {"foot", "feet"},
		{"eave", "eaves"}, {"goose", "geese"}, {"tooth", "teeth"}, {"quiz", "quizzes"},
		{"human", "humans"}, {"proof", "proofs"}, {"carve", "carves"}, {"valve", "valves"},
		{"looey", "looies"}, {"thief", "thieves"}, {"groove", "grooves"}, {"pickaxe", "pickaxes"},
		{"passerby", "passersby"},
	}
	for _, p := range irregular {
		s, pl := strings.ToLower(p[0]), strings.ToLower(p[1])
		irregularSingles[s] = pl
		irregularPlurals[pl] = s
	}
	rules := [][2]string{
		{`s?$`, "s"},
		{`[^\x00-\x7F]$`, "$0"},
		{`([^aeiou]ese)$`, "$1"},
		{`(ax|test)is$`, "$1es"},
		{`(alias|[^aou]us|t[lm]as|gas|ris)$`, "$1es"},
		{`(e[mn]u)s?$`, "$1s"},
		{`([^l]ias|[aeiou]las|[ejzr]as|[iu]am)$`, "$1"},
		{`(alumn|syllab|vir|radi|nucle|fung|cact|stimul|termin|bacill|foc|uter|loc|strat)(?:us|i)$`, "$1i"},
		{`(alumn|alg|vertebr)(?:a|ae)$`, "$1ae"},
		{`(seraph|cherub)(?:im)?$`, "$1im"},
		{`(her|at|gr)o$`, "$1oes"},
		{`(agend|addend|millenni|dat|extrem|bacteri|desiderat|strat|candelabr|errat|ov|symposi|curricul|automat|quor)(?:a|um)$`, "$1a"},
		{`(apheli|hyperbat|periheli|asyndet|noumen|phenomen|criteri|organ|prolegomen|hedr|automat)(?:a|on)$`, "$1a"},
		{`sis$`, "ses"},
		{`(?:(kni|wi|li)fe|(ar|l|ea|eo|oa|hoo)f)$`, "$1$2ves"},
		{`([^aeiouy]|qu)y$`, "$1ies"},
		{`([^ch][ieo][ln])ey$`, "$1ies"},
		{`(x|ch|ss|sh|zz)$`, "$1es"},
		{`(matr|cod|mur|sil|vert|ind|append)(?:ix|ex)$`, "$1ices"},
		{`\b((?:tit)?m|l)(?:ice|ouse)$`, "$1ice"},
		{`(pe)(?:rson|ople)$`, "$1ople"},
		{`(child)(?:ren)?$`, "$1ren"},
		{`eaux$`, "$0"},
		{`m[ae]n$`, "men"},
		{`^thou$`, "you"},
		// Uncountable patterns keep the word.
		{`pok[eé]mon$`, "$0"},
		{`[^aeiou]ese$`, "$0"},
		{`deer$`, "$0"},
		{`fish$`, "$0"},
		{`measles$`, "$0"},
		{`o[iu]s$`, "$0"},
		{`pox$`, "$0"},
		{`sheep$`, "$0"},
	}
	for _, r := range rules {
		pluralRules = append(pluralRules, pluralRule{regexp.MustCompile(`(?i)` + r[0]), r[1]})
	}
	for _, w := range strings.Fields(`adulthood advice agenda aid aircraft alcohol ammo analytics anime
		athletics audio bison blood bream buffalo butter carp cash chassis chess clothing cod commerce
		cooperation corps debris diabetes digestion elk energy equipment excretion expertise firmware
		flounder fun gallows garbage hardware headquarters health herpes highjinks homework housework
		information jeans justice kudos labour literature machinery mackerel mail media mews moose music
		mud manga news only personnel pike plankton pliers police pollution premises rain research rice
		salmon scissors series sewage shambles shrimp software species staff swine tennis traffic
		transportation trout tuna wealth welfare whiting wildebeest wildlife you`) {
		uncountables[w] = true
	}
}
