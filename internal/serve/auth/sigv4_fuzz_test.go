package auth

import (
	"context"
	"testing"
	"time"
)

// FuzzIAMVerify feeds the SigV4 verifier requests derived from a good one
// with the Authorization header, X-Amz-Date and body replaced: it must
// never panic, and a request whose body or date differ from what was
// signed must never be accepted.
//
//	go test -run '^$' -fuzz FuzzIAMVerify ./internal/serve/auth
func FuzzIAMVerify(f *testing.F) {
	clk := &clock{t: time.Now()}
	a, err := New(Config{IAM: &IAMConfig{Credentials: []IAMCredential{userCred, guestCred}}, Now: clk.now})
	if err != nil {
		f.Fatal(err)
	}
	const body = `{"query":"{ listNotes { items { id } } }"}`
	good := signed(f, DefaultIAMRegion, userCred, body)
	f.Add(good.Header["authorization"], good.Header["x-amz-date"], body)
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDUSER/2/us-east-1/appsync/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", good.Header["x-amz-date"], body)
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;, Signature==", "20260101T000000Z", "")
	f.Add("AWS4-HMAC-SHA256 ,,,", "x", "{}")
	f.Fuzz(func(t *testing.T, authz, date, b string) {
		r := good
		r.Header = copyHeaders(good.Header)
		r.Header["authorization"] = authz
		r.Header["x-amz-date"] = date
		r.Body = []byte(b)
		id, err := a.AuthenticateSigned(context.Background(), r)
		if err != nil {
			return
		}
		if b != body || date != good.Header["x-amz-date"] {
			t.Fatalf("accepted a request not as signed (date %q, body %q): %+v", date, b, id)
		}
	})
}
