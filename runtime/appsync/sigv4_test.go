package appsync_test

import (
	"testing"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// TestSigV4Vectors checks the signing chain against AWS's published
// Signature Version 4 test suite (aws-sig-v4-test-suite, 2015-08-30
// examples, secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, scope
// 20150830/us-east-1/service): the expected signatures are AWS's, so the
// client's signer and the server's verifier, which share this code, are
// not wrong the same way.
func TestSigV4Vectors(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	headers := map[string]string{"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
	for _, tc := range []struct {
		name, query, want string
	}{
		{"get-vanilla", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query-order-key-case", "Param2=value2&Param1=value1", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := appsync.SigV4CanonicalRequest("GET", "/", tc.query, []string{"host", "x-amz-date"},
				func(h string) string { return headers[h] }, appsync.SigV4PayloadHash(nil))
			sts := appsync.SigV4StringToSign("20150830T123600Z", appsync.SigV4Scope("20150830", "us-east-1", "service"), cr)
			got := appsync.SigV4Signature(appsync.SigV4SigningKey(secret, "20150830", "us-east-1", "service"), sts)
			if got != tc.want {
				t.Errorf("signature %s, want AWS's %s\ncanonical request:\n%s", got, tc.want, cr)
			}
		})
	}
}

// TestSigV4CanonicalForms checks the canonical URI (segments encoded once
// more, as for every service but S3, and as amplify-js signs), the query
// (decoded, re-encoded, sorted) and header values (trimmed, spaces
// collapsed).
func TestSigV4CanonicalForms(t *testing.T) {
	cr := appsync.SigV4CanonicalRequest("POST", "/a%20b/c", "b=2&a=x+y&a=%21", []string{"x"},
		func(string) string { return "  one   two " }, "h")
	want := "POST\n/a%2520b/c\na=%21&a=x%20y&b=2\nx:one two\n\nx\nh"
	if cr != want {
		t.Errorf("canonical request\n%q\nwant\n%q", cr, want)
	}
}
