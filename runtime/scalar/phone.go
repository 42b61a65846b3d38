package scalar

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Phone is an AWSPhone: a phone number written with optional separators.
//
// AppSync documents only that digit groups may be separated by spaces or
// hyphens and that numbers without a country code are taken as North
// American. Phone enforces this rule:
//
//   - an optional leading '+', then digits, ASCII spaces, hyphens and
//     parentheses, and nothing else;
//   - the text after the '+' starts with a digit or '(' and ends with a digit;
//   - parentheses come in pairs, are not nested and hold only digits, as in
//     "+1 (206) 555-0100" or "+44 (0) 20 7946 0958";
//   - 3 to 15 digits in all. 15 is the E.164 maximum.
//
// It does not check numbering plans, so "+1 000 000 0000" passes.
type Phone string

// checkPhone reports why s is not a valid AWSPhone, or "" if it is.
func checkPhone(s string) string {
	body := strings.TrimPrefix(s, "+")
	if body == "" {
		return "no digits"
	}
	if c := body[0]; !isDigit(c) && c != '(' {
		return "must start with a digit or '('"
	}
	if !isDigit(body[len(body)-1]) {
		return "must end with a digit"
	}
	n := 0     // digits seen
	open := -1 // index of the unclosed '(', or -1
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case isDigit(c):
			n++
		case c == '(':
			if open >= 0 {
				return "nested parentheses"
			}
			open = i
		case c == ')':
			if open < 0 {
				return "unbalanced parentheses"
			}
			if open == i-1 {
				return "empty parentheses"
			}
			open = -1
		case c == ' ' || c == '-':
			if open >= 0 {
				return "separator inside parentheses"
			}
		default:
			r, _ := utf8.DecodeRuneInString(body[i:])
			return "invalid character " + strconv.QuoteRune(r)
		}
	}
	if open >= 0 {
		return "unbalanced parentheses"
	}
	if n < 3 || n > 15 {
		return "must have 3 to 15 digits"
	}
	return ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ParsePhone validates s as an AWSPhone.
func ParsePhone(s string) (Phone, error) { return parseString[Phone](typePhone, s, checkPhone) }

// MustParsePhone is like ParsePhone but panics if s is invalid. It is meant
// for tests and literals.
func MustParsePhone(s string) Phone {
	v, err := ParsePhone(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Valid returns nil if p is a valid AWSPhone, and a *ParseError otherwise. The
// zero value "" is invalid: it means "no value", which AppSync writes as null.
func (p Phone) Valid() error { return validate(typePhone, string(p), checkPhone) }

// String returns p as text.
func (p Phone) String() string { return string(p) }

// Compare returns -1, 0 or +1 as p sorts before, with, or after q, comparing
// text bytewise.
func (p Phone) Compare(q Phone) int { return strings.Compare(string(p), string(q)) }

// MarshalJSON encodes p as a JSON string, or null for the zero value. It
// returns an error if p is not a valid AWSPhone.
func (p Phone) MarshalJSON() ([]byte, error) {
	return marshalJSONString(typePhone, string(p), checkPhone)
}

// UnmarshalJSON decodes a JSON string holding an AWSPhone. JSON null leaves p
// unchanged.
func (p *Phone) UnmarshalJSON(data []byte) error {
	return unmarshalJSONString(p, typePhone, data, checkPhone)
}

// MarshalText returns p as text, which is empty for the zero value. It returns
// an error if p is not a valid AWSPhone.
func (p Phone) MarshalText() ([]byte, error) { return marshalText(typePhone, string(p), checkPhone) }

// UnmarshalText validates text as an AWSPhone. Empty text sets the zero value,
// which is the inverse of MarshalText.
func (p *Phone) UnmarshalText(text []byte) error {
	return unmarshalText(p, typePhone, text, checkPhone)
}
