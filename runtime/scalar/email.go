package scalar

import (
	"strconv"
	"strings"
)

// Email is an AWSEmail: an address of the form local-part@domain.
//
// The rule is the one the Amplify clients and the AppSync simulator check.
// The local part is one or more letters, digits or characters from
// .!#$%&'*+/=?^_`{|}~- . The domain is one or more dot-separated labels of 1
// to 63 letters, digits and hyphens that neither start nor end with a hyphen.
// Quoted local parts, address literals and non-ASCII addresses are not
// accepted.
type Email string

// checkEmail reports why s is not a valid AWSEmail, or "" if it is.
func checkEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	switch {
	case !ok:
		return "missing @"
	case local == "":
		return "empty local part"
	case domain == "":
		return "empty domain"
	}
	for i := 0; i < len(local); i++ {
		if !isAlnum(local[i]) && strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", local[i]) < 0 {
			return "invalid character in local part"
		}
	}
	for label := range strings.SplitSeq(domain, ".") {
		if !isDomainLabel(label) {
			return "invalid domain label " + strconv.Quote(label)
		}
	}
	return ""
}

// isDomainLabel reports whether s is a DNS label of 1 to 63 letters, digits
// and inner hyphens.
func isDomainLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && s[i] != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// ParseEmail validates s as an AWSEmail.
func ParseEmail(s string) (Email, error) { return parseString[Email](typeEmail, s, checkEmail) }

// MustParseEmail is like ParseEmail but panics if s is invalid. It is meant
// for tests and literals.
func MustParseEmail(s string) Email {
	v, err := ParseEmail(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Valid returns nil if e is a valid AWSEmail, and a *ParseError otherwise. The
// zero value "" is invalid: it means "no value", which AppSync writes as null.
func (e Email) Valid() error { return validate(typeEmail, string(e), checkEmail) }

// String returns e as text.
func (e Email) String() string { return string(e) }

// Compare returns -1, 0 or +1 as e sorts before, with, or after f, comparing
// text bytewise.
func (e Email) Compare(f Email) int { return strings.Compare(string(e), string(f)) }

// MarshalJSON encodes e as a JSON string, or null for the zero value. It
// returns an error if e is not a valid AWSEmail.
func (e Email) MarshalJSON() ([]byte, error) {
	return marshalJSONString(typeEmail, string(e), checkEmail)
}

// UnmarshalJSON decodes a JSON string holding an AWSEmail. JSON null leaves e
// unchanged.
func (e *Email) UnmarshalJSON(data []byte) error {
	return unmarshalJSONString(e, typeEmail, data, checkEmail)
}

// MarshalText returns e as text, which is empty for the zero value. It returns
// an error if e is not a valid AWSEmail.
func (e Email) MarshalText() ([]byte, error) { return marshalText(typeEmail, string(e), checkEmail) }

// UnmarshalText validates text as an AWSEmail. Empty text sets the zero value,
// which is the inverse of MarshalText.
func (e *Email) UnmarshalText(text []byte) error {
	return unmarshalText(e, typeEmail, text, checkEmail)
}
