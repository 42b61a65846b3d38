package client_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/runtime/appsync/client"
)

const iamSchema = `type Note @model @auth(rules: [{allow: private, provider: iam}]) {
  id: ID!
  text: String!
}
`

// TestIAMCredentialsRefresh: the IAM auth fetches credentials once and
// caches them; credentials the server refuses are fetched anew once (a
// rotated key is picked up), credentials near their Expires are fetched
// before use, and a failing credentials function is ErrUnauthorized.
func TestIAMCredentialsRefresh(t *testing.T) {
	s := testenv.LoadSchema(t, iamSchema)
	good := auth.IAMCredential{AccessKeyID: "AKIDNEW", SecretAccessKey: "rotated-secret", Role: auth.IAMAuthenticated}
	ts := startServer(t, s, func(c *serve.Config) { c.Auth.IAM = &auth.IAMConfig{Credentials: []auth.IAMCredential{good}} })
	d := docsFor(t, s, "Note")
	ctx := ctxT(t)

	// The first credentials are an old key the server no longer lists.
	var fetches atomic.Int32
	c := newClient(t, ts, client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		if fetches.Add(1) == 1 {
			return client.Credentials{AccessKeyID: "AKIDOLD", SecretAccessKey: "old"}, nil
		}
		return client.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey}, nil
	}))
	if _, err := c.Sync(ctx, d, client.SyncArgs{}); err != nil {
		t.Fatalf("sync after a key rotation: %v", err)
	}
	if _, err := c.Sync(ctx, d, client.SyncArgs{}); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("credentials fetched %d times, want 2 (first, then once after the 401; cached after)", n)
	}

	// Credentials that expire within the margin are fetched for every
	// request; ones valid for an hour are kept.
	fetches.Store(0)
	expiring := newClient(t, ts, client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		fetches.Add(1)
		return client.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: good.SecretAccessKey, Expires: time.Now().Add(30 * time.Second)}, nil
	}))
	for range 2 {
		if _, err := expiring.Sync(ctx, d, client.SyncArgs{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("nearly expired credentials fetched %d times for 2 requests, want 2", n)
	}

	broken := newClient(t, ts, client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		return client.Credentials{}, errors.New("identity pool down")
	}))
	if _, err := broken.Sync(ctx, d, client.SyncArgs{}); !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(err.Error(), "identity pool down") {
		t.Errorf("failing credentials function: %v, want ErrUnauthorized", err)
	}
	wrong := newClient(t, ts, client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: good.AccessKeyID, SecretAccessKey: "wrong"}, nil
	}))
	if _, err := wrong.Sync(ctx, d, client.SyncArgs{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong secret: %v, want ErrUnauthorized", err)
	}
}
