package scalar_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dsgen/dsgen/runtime/scalar"
)

// stringCase runs the shared checks for a string-based scalar type.
type stringType[T ~string] struct {
	name  string // AppSync name
	parse func(string) (T, error)
}

func (st stringType[T]) check(t *testing.T, valid []string, invalid map[string]string) {
	t.Helper()
	for _, s := range valid {
		v, err := st.parse(s)
		if err != nil {
			t.Errorf("Parse%s(%q): %v", st.name, s, err)
			continue
		}
		if string(v) != s {
			t.Errorf("Parse%s(%q) = %q", st.name, s, v)
		}
		if err := any(v).(interface{ Valid() error }).Valid(); err != nil {
			t.Errorf("%q.Valid() = %v", s, err)
		}
	}
	for s, reason := range invalid {
		v, err := st.parse(s)
		if err == nil {
			t.Errorf("Parse%s(%q) = %q, want error %q", st.name, s, v, reason)
			continue
		}
		wantParseError(t, err, st.name, s, reason)
		if err := any(T(s)).(interface{ Valid() error }).Valid(); err == nil {
			t.Errorf("%q.Valid() = nil, want error", s)
		}
	}
}

func TestEmail(t *testing.T) {
	stringType[scalar.Email]{"AWSEmail", scalar.ParseEmail}.check(t, []string{
		"user@example.com",
		"first.last+tag@sub.example.co.uk",
		"a@localhost",
		"x!#$%&'*+/=?^_`{|}~-@example.com",
		"UPPER@EXAMPLE.COM",
		"a@b-c.d",
		"a@" + strings.Repeat("x", 63) + ".com",
	}, map[string]string{
		"":                     "empty",
		"plainaddress":         "missing @",
		"@example.com":         "empty local part",
		"user@":                "empty domain",
		"user@@example.com":    `invalid domain label "@example"`,
		"us er@example.com":    "invalid character in local part",
		`"quoted"@example.com`: "invalid character in local part",
		"üser@example.com":     "invalid character in local part",
		"user@-example.com":    `invalid domain label "-example"`,
		"user@example-.com":    `invalid domain label "example-"`,
		"user@exa_mple.com":    `invalid domain label "exa_mple"`,
		"user@example..com":    `invalid domain label ""`,
		"user@.example.com":    `invalid domain label ""`,
		"user@example.com.":    `invalid domain label ""`,
		"user@[192.0.2.1]":     `invalid domain label "[192"`,
		"user@" + strings.Repeat("x", 64) + ".com": `invalid domain label "` + strings.Repeat("x", 64) + `"`,
	})
}

func TestURL(t *testing.T) {
	stringType[scalar.URL]{"AWSURL", scalar.ParseURL}.check(t, []string{
		"https://www.amazon.com/dp/B000NZW3KC/",
		"https://www.amazon.com",
		"mailto:example@example.com",
		"http://localhost/",
		"http://localhost:8080/path?q=1&r=a%20b#frag",
		"ftp://ftp.example.com/file.txt",
		"file:///etc/hosts",
		"urn:isbn:0451450523",
		"https://[2001:db8::1]:8443/x",
		"https://user:pass@example.com/",
		"https://example.com/a%2F%2Fb",
		"https://example.com/?next=//x",
		"https://例え.jp/パス",
	}, map[string]string{
		"":                          "empty",
		"amazon.com":                "missing scheme",
		"www.amazon.com/dp":         "missing scheme",
		"//example.com/path":        "missing scheme",
		"/relative/path":            "missing scheme",
		"https://example.com//path": "double slash in path",
		"https://example.com/a//b":  "double slash in path",
		"mailto:a//b":               "double slash in path",
		"https://":                  "missing host",
		"https://:8080/":            "missing host",
		"http:":                     "nothing after the scheme",
		"http://exa mple.com":       "contains whitespace or a control character",
		"https://example.com/a b":   "contains whitespace or a control character",
		"https://example.com/\n":    "contains whitespace or a control character",
		"https://example.com/\xff":  "invalid UTF-8",
		"1http://example.com":       "first path segment in URL cannot contain colon",
		"https://example.com/%zz":   `invalid URL escape "%zz"`,
		"https://[::1/":             "missing ']' in host",
	})
}

func TestPhone(t *testing.T) {
	stringType[scalar.Phone]{"AWSPhone", scalar.ParsePhone}.check(t, []string{
		"+1 206 555 0100",
		"206-555-0100",
		"(206) 555-0100",
		"(206)555-0100",
		"+1 (206) 555-0100",
		"+1-206-555-0100",
		"+44 20 7946 0958",
		"+44 (0) 20 7946 0958",
		"2065550100",
		"+12065550100",
		"911",
		"555  0100",
		"+123456789012345",
	}, map[string]string{
		"":                   "empty",
		"+":                  "no digits",
		"12":                 "must have 3 to 15 digits",
		"+1234567890123456":  "must have 3 to 15 digits",
		"++1 206 555 0100":   "must start with a digit or '('",
		"+ 1 206 555 0100":   "must start with a digit or '('",
		" 206 555 0100":      "must start with a digit or '('",
		"-206":               "must start with a digit or '('",
		"206 555 0100 ":      "must end with a digit",
		"206-555-010a":       "must end with a digit",
		"(206":               "unbalanced parentheses",
		"206.555.0100":       "invalid character '.'",
		"206 555 0100 ext 5": "invalid character 'e'",
		"+1\t206 555 0100":   "invalid character '\\t'",
		"+1 206 5٠5 0100":    "invalid character '٠'",
		"(206 555-0100":      "separator inside parentheses",
		"(20 6) 555":         "separator inside parentheses",
		"206) 555-0100":      "unbalanced parentheses",
		"(206)(555 0100":     "separator inside parentheses",
		"(206)(5550100":      "unbalanced parentheses",
		"((206)) 555":        "nested parentheses",
		"() 555 0100":        "empty parentheses",
	})
}

func TestIPAddress(t *testing.T) {
	stringType[scalar.IPAddress]{"AWSIPAddress", scalar.ParseIPAddress}.check(t, []string{
		"192.0.2.1",
		"0.0.0.0",
		"255.255.255.255",
		"123.12.34.56",
		"123.45.67.89/16",
		"10.0.0.0/8",
		"10.0.0.0/0",
		"192.168.1.5/32",
		"2001:db8::1",
		"2001:DB8::1",
		"1a2b:3c4b::1234:4567",
		"::1",
		"::",
		"::ffff:192.0.2.1",
		"2001:db8::/32",
		"2001:db8::1/128",
		"fe80::1/64",
	}, map[string]string{
		"":                "empty",
		"256.0.0.1":       "not an IPv4 or IPv6 address",
		"01.2.3.4":        "not an IPv4 or IPv6 address",
		"1.2.3":           "not an IPv4 or IPv6 address",
		"1.2.3.4 ":        "not an IPv4 or IPv6 address",
		"[::1]":           "not an IPv4 or IPv6 address",
		"example.com":     "not an IPv4 or IPv6 address",
		"2001:db8:::1":    "not an IPv4 or IPv6 address",
		"/24":             "not an IPv4 or IPv6 address",
		"fe80::1%eth0":    "IPv6 zone not allowed",
		"fe80::1%eth0/64": "IPv6 zone not allowed",
		"1.2.3.4/33":      "invalid CIDR prefix length",
		"2001:db8::/129":  "invalid CIDR prefix length",
		"1.2.3.4/":        "invalid CIDR prefix length",
		"1.2.3.4/024":     "invalid CIDR prefix length",
		"1.2.3.4/-1":      "invalid CIDR prefix length",
		"1.2.3.4/8/8":     "invalid CIDR prefix length",
	})
}

func TestIPAddressPrefix(t *testing.T) {
	tests := []struct {
		in   scalar.IPAddress
		want netip.Prefix
	}{
		{"10.1.2.3/8", netip.MustParsePrefix("10.1.2.3/8")},
		{"192.0.2.1", netip.MustParsePrefix("192.0.2.1/32")},
		{"2001:DB8::1", netip.MustParsePrefix("2001:db8::1/128")},
		{"2001:db8::/32", netip.MustParsePrefix("2001:db8::/32")},
		{"fe80::1%eth0", netip.Prefix{}},
		{"nope", netip.Prefix{}},
		{"", netip.Prefix{}},
	}
	for _, tt := range tests {
		if got := tt.in.Prefix(); got != tt.want {
			t.Errorf("%q.Prefix() = %v, want %v", tt.in, got, tt.want)
		}
		if got := tt.in.Addr(); got != tt.want.Addr() {
			t.Errorf("%q.Addr() = %v, want %v", tt.in, got, tt.want.Addr())
		}
	}
}

// TestStringTypesJSON round-trips a struct of every string-based type and
// checks null, zero and invalid handling.
func TestStringTypesJSON(t *testing.T) {
	type contact struct {
		Email scalar.Email     `json:"email"`
		Site  scalar.URL       `json:"site"`
		Phone scalar.Phone     `json:"phone"`
		IP    scalar.IPAddress `json:"ip"`
		Alt   scalar.Email     `json:"alt"`
		Omit  scalar.Phone     `json:"omit,omitzero"`
	}
	const in = `{"email":"o'brien+dsgen@example.com","site":"https://example.com/a?q=\"x\"","phone":"+1 (206) 555-0100","ip":"2001:db8::/32","alt":null}`
	var c contact
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.Site != `https://example.com/a?q="x"` {
		t.Errorf("Site = %q", c.Site)
	}
	out, err := json.Marshal(c)
	if err != nil || string(out) != in {
		t.Errorf("Marshal = %s, %v\nwant       %s", out, err, in)
	}

	// Invalid values do not reach the wire.
	_, err = json.Marshal(contact{Email: "not-an-email"})
	if _, ok := errors.AsType[*scalar.ParseError](err); !ok {
		t.Errorf("Marshal(invalid Email) error = %v, want a *scalar.ParseError inside", err)
	}

	// Wrong JSON types, empty strings and invalid text are rejected.
	for _, doc := range []string{`{"email":""}`, `{"email":42}`, `{"ip":"1.2.3.4/33"}`, `{"phone":["1"]}`, `{"site":"example.com"}`} {
		if err := json.Unmarshal([]byte(doc), &c); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", doc)
		}
	}

	// null leaves a value unchanged.
	e := scalar.MustParseEmail("a@b.c")
	if err := json.Unmarshal([]byte(" null "), &e); err != nil || e != "a@b.c" {
		t.Errorf("Unmarshal(null) = %q, %v", e, err)
	}

	// Escaped JSON strings decode through encoding/json.
	var u scalar.URL
	if err := json.Unmarshal([]byte(`"https:\/\/example.com\/\u00e9"`), &u); err != nil || u != "https://example.com/é" {
		t.Errorf("escaped URL = %q, %v", u, err)
	}

	// Text: empty is the zero value both ways.
	var p scalar.Phone
	if b, err := p.MarshalText(); err != nil || len(b) != 0 {
		t.Errorf("zero MarshalText = %q, %v", b, err)
	}
	if err := p.UnmarshalText([]byte("911")); err != nil || p != "911" {
		t.Errorf("UnmarshalText = %q, %v", p, err)
	}
	if err := p.UnmarshalText(nil); err != nil || p != "" {
		t.Errorf("UnmarshalText(empty) = %q, %v", p, err)
	}
	if err := p.UnmarshalText([]byte("x")); err == nil {
		t.Error("UnmarshalText(x) succeeded")
	}
	if _, err := scalar.Phone("x").MarshalText(); err == nil {
		t.Error("MarshalText of invalid Phone succeeded")
	}
}

func TestStringTypesCompare(t *testing.T) {
	emails := []scalar.Email{"b@x.io", "a@y.io", "A@z.io"}
	slices.SortFunc(emails, scalar.Email.Compare)
	if !slices.Equal(emails, []scalar.Email{"A@z.io", "a@y.io", "b@x.io"}) {
		t.Errorf("sorted emails = %v", emails)
	}
	ips := []scalar.IPAddress{"10.0.0.2", "10.0.0.10", "::1"}
	slices.SortFunc(ips, scalar.IPAddress.Compare)
	if !slices.Equal(ips, []scalar.IPAddress{"10.0.0.10", "10.0.0.2", "::1"}) {
		t.Errorf("sorted IPs (by text) = %v", ips)
	}
	if scalar.URL("a:b").Compare("a:b") != 0 || scalar.Phone("911").Compare("912") != -1 {
		t.Error("Compare")
	}
	mustPanic(t, "MustParseEmail", func() { scalar.MustParseEmail("x") })
	mustPanic(t, "MustParseURL", func() { scalar.MustParseURL("x") })
	mustPanic(t, "MustParsePhone", func() { scalar.MustParsePhone("x") })
	mustPanic(t, "MustParseIPAddress", func() { scalar.MustParseIPAddress("x") })
}
