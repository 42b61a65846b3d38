package scalar

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// URL is an AWSURL: an absolute URL. AppSync accepts any scheme, including
// local URLs such as http://localhost/ and ones without an authority such as
// mailto:someone@example.com. It rejects URLs without a scheme, such as
// "www.amazon.com", and URLs with "//" in the path.
//
// URL enforces those rules on top of net/url's parser. It also requires a
// host when the URL is written with "//" (except for file URLs, where
// file:///path is the norm) and it rejects whitespace, control characters and
// invalid UTF-8.
type URL string

// checkURL reports why s is not a valid AWSURL, or "" if it is.
func checkURL(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "contains whitespace or a control character"
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return ue.Err.Error()
		}
		return err.Error()
	}
	if u.Scheme == "" {
		return "missing scheme"
	}
	if u.Opaque != "" {
		// scheme:opaque, as in mailto:someone@example.com.
		if strings.Contains(u.Opaque, "//") {
			return "double slash in path"
		}
		return ""
	}
	authority := strings.HasPrefix(s[len(u.Scheme)+1:], "//")
	switch {
	case authority && u.Hostname() == "" && !strings.EqualFold(u.Scheme, "file"):
		return "missing host"
	case !authority && u.Path == "":
		return "nothing after the scheme"
	case strings.Contains(u.EscapedPath(), "//"):
		return "double slash in path"
	}
	return ""
}

// ParseURL validates s as an AWSURL.
func ParseURL(s string) (URL, error) { return parseString[URL](typeURL, s, checkURL) }

// MustParseURL is like ParseURL but panics if s is invalid. It is meant for
// tests and literals.
func MustParseURL(s string) URL {
	v, err := ParseURL(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Valid returns nil if u is a valid AWSURL, and a *ParseError otherwise. The
// zero value "" is invalid: it means "no value", which AppSync writes as null.
func (u URL) Valid() error { return validate(typeURL, string(u), checkURL) }

// String returns u as text.
func (u URL) String() string { return string(u) }

// Compare returns -1, 0 or +1 as u sorts before, with, or after v, comparing
// text bytewise.
func (u URL) Compare(v URL) int { return strings.Compare(string(u), string(v)) }

// MarshalJSON encodes u as a JSON string, or null for the zero value. It
// returns an error if u is not a valid AWSURL.
func (u URL) MarshalJSON() ([]byte, error) { return marshalJSONString(typeURL, string(u), checkURL) }

// UnmarshalJSON decodes a JSON string holding an AWSURL. JSON null leaves u
// unchanged.
func (u *URL) UnmarshalJSON(data []byte) error {
	return unmarshalJSONString(u, typeURL, data, checkURL)
}

// MarshalText returns u as text, which is empty for the zero value. It returns
// an error if u is not a valid AWSURL.
func (u URL) MarshalText() ([]byte, error) { return marshalText(typeURL, string(u), checkURL) }

// UnmarshalText validates text as an AWSURL. Empty text sets the zero value,
// which is the inverse of MarshalText.
func (u *URL) UnmarshalText(text []byte) error {
	return unmarshalText(u, typeURL, text, checkURL)
}
