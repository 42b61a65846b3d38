package appsync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// AWS Signature Version 4, as AppSync's AWS_IAM mode uses it: the parts
// both the signing client (runtime/appsync/client) and the verifying
// server (dsgen serve) compute, so that they cannot disagree on the
// canonical form. The published AWS test vectors check it
// (sigv4_test.go).

// SigV4 constants.
const (
	// SigV4Algorithm opens a SigV4 Authorization header.
	SigV4Algorithm = "AWS4-HMAC-SHA256"
	// SigV4Service is AppSync's service name in a credential scope.
	SigV4Service = "appsync"
	// SigV4Terminator ends a credential scope.
	SigV4Terminator = "aws4_request"
	// AmzDateFormat is the layout of X-Amz-Date (basic ISO 8601, UTC).
	AmzDateFormat = "20060102T150405Z"
	// ConnectPath is the path of the request a real-time connection's
	// IAM authorization signs (body "{}"); a start message signs
	// GraphQLPath with its data string as the body.
	ConnectPath = "/graphql/connect"
	// GraphQLPath is the path of the GraphQL endpoint.
	GraphQLPath = "/graphql"
)

// SigV4CanonicalRequest returns the canonical request of SigV4 for an
// HTTP request: method, the canonical URI of path (the path as sent,
// percent-encoded; each segment is encoded once more, as AWS does for
// every service but S3, and "" means "/"), the canonical form of rawQuery
// (the query as sent, without "?"), the signed headers' canonical lines
// (header returns a header's value by lower-case name; values are trimmed
// and inner runs of spaces collapsed), the signed header list and the hex
// SHA-256 of the body. signed must be the lower-case header names, sorted.
func SigV4CanonicalRequest(method, path, rawQuery string, signed []string, header func(name string) string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(sigV4URI(path))
	b.WriteByte('\n')
	b.WriteString(sigV4Query(rawQuery))
	b.WriteByte('\n')
	for _, h := range signed {
		b.WriteString(h)
		b.WriteByte(':')
		b.WriteString(strings.Join(strings.Fields(header(h)), " "))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// SigV4PayloadHash is the hex SHA-256 of a request body.
func SigV4PayloadHash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// SigV4Scope is the credential scope "<date>/<region>/<service>/aws4_request".
func SigV4Scope(date, region, service string) string {
	return date + "/" + region + "/" + service + "/" + SigV4Terminator
}

// SigV4StringToSign is the string a SigV4 signature is the HMAC of.
func SigV4StringToSign(amzDate, scope, canonicalRequest string) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return SigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

// SigV4SigningKey derives the signing key of a secret access key for a day
// (YYYYMMDD), a region and a service.
func SigV4SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, SigV4Terminator)
}

// SigV4Signature is the hex signature of stringToSign with a signing key.
func SigV4Signature(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// sigV4URI is the canonical URI of an escaped path: each segment encoded
// (again) with SigV4's encoding, slashes kept.
func sigV4URI(path string) string {
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = sigV4Escape(s)
	}
	return strings.Join(segs, "/")
}

// sigV4Query is the canonical query string: names and values decoded,
// re-encoded with SigV4's encoding, sorted by name then value.
func sigV4Query(raw string) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, pair{sigV4Escape(k), sigV4Escape(v)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// sigV4Escape percent-encodes every byte but SigV4's unreserved characters
// (A-Z a-z 0-9 - _ . ~), in upper-case hex.
func sigV4Escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// startDataKey carries a real-time start message's data string.
type startDataKey struct{}

// ContextWithStartData returns ctx carrying the data string of the start
// message being authorized. An IAM signature of a start message covers
// that string as the body of a POST to GraphQLPath, so the real-time
// client hands it to the auth that signs, and the server to the code that
// verifies.
func ContextWithStartData(ctx context.Context, data string) context.Context {
	return context.WithValue(ctx, startDataKey{}, data)
}

// StartData returns the start message data string ctx carries, if any.
func StartData(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(startDataKey{}).(string)
	return s, ok
}
