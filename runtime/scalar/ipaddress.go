package scalar

import (
	"net/netip"
	"strings"
)

// IPAddress is an AWSIPAddress: an IPv4 address in dotted-quad form
// ("192.0.2.1") or an IPv6 address in unbracketed colon form ("2001:db8::1"),
// optionally followed by a CIDR prefix length ("10.0.0.0/8", "2001:db8::/32"),
// as AppSync accepts. Parsing is net/netip's, so IPv4 octets may not have
// leading zeros. IPv6 zones ("fe80::1%eth0") are rejected.
//
// The text is kept as given. Compare orders by text, not numerically. Use
// Prefix for numeric work.
type IPAddress string

// checkIPAddress reports why s is not a valid AWSIPAddress, or "" if it is.
func checkIPAddress(s string) string {
	addr, _, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	switch {
	case err != nil:
		return "not an IPv4 or IPv6 address"
	case a.Zone() != "":
		return "IPv6 zone not allowed"
	case hasBits:
		if _, err := netip.ParsePrefix(s); err != nil {
			return "invalid CIDR prefix length"
		}
	}
	return ""
}

// Prefix returns a as a netip.Prefix. An address without a CIDR suffix gets
// its full length, /32 or /128. Prefix returns the zero (invalid) Prefix if a
// is not valid.
func (a IPAddress) Prefix() netip.Prefix {
	s := string(a)
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s) // rejects zones
		if err != nil {
			return netip.Prefix{}
		}
		return p
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(addr, addr.BitLen())
}

// Addr returns the address part of a, without any CIDR suffix. It returns the
// zero (invalid) Addr if a is not valid.
func (a IPAddress) Addr() netip.Addr { return a.Prefix().Addr() }

// ParseIPAddress validates s as an AWSIPAddress.
func ParseIPAddress(s string) (IPAddress, error) {
	return parseString[IPAddress](typeIPAddress, s, checkIPAddress)
}

// MustParseIPAddress is like ParseIPAddress but panics if s is invalid. It is
// meant for tests and literals.
func MustParseIPAddress(s string) IPAddress {
	v, err := ParseIPAddress(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Valid returns nil if a is a valid AWSIPAddress, and a *ParseError otherwise.
// The zero value "" is invalid: it means "no value", which AppSync writes as
// null.
func (a IPAddress) Valid() error { return validate(typeIPAddress, string(a), checkIPAddress) }

// String returns a as text.
func (a IPAddress) String() string { return string(a) }

// Compare returns -1, 0 or +1 as a sorts before, with, or after b, comparing
// text bytewise.
func (a IPAddress) Compare(b IPAddress) int { return strings.Compare(string(a), string(b)) }

// MarshalJSON encodes a as a JSON string, or null for the zero value. It
// returns an error if a is not a valid AWSIPAddress.
func (a IPAddress) MarshalJSON() ([]byte, error) {
	return marshalJSONString(typeIPAddress, string(a), checkIPAddress)
}

// UnmarshalJSON decodes a JSON string holding an AWSIPAddress. JSON null
// leaves a unchanged.
func (a *IPAddress) UnmarshalJSON(data []byte) error {
	return unmarshalJSONString(a, typeIPAddress, data, checkIPAddress)
}

// MarshalText returns a as text, which is empty for the zero value. It returns
// an error if a is not a valid AWSIPAddress.
func (a IPAddress) MarshalText() ([]byte, error) {
	return marshalText(typeIPAddress, string(a), checkIPAddress)
}

// UnmarshalText validates text as an AWSIPAddress. Empty text sets the zero
// value, which is the inverse of MarshalText.
func (a *IPAddress) UnmarshalText(text []byte) error {
	return unmarshalText(a, typeIPAddress, text, checkIPAddress)
}
