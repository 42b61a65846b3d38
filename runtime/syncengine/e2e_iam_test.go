package syncengine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	authm "github.com/dsgen/dsgen/golden/auth/model"
	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/testenv"
	"github.com/dsgen/dsgen/internal/testenv/poll"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

// iamBackend serves the blog schema with every model open to the IAM
// authenticated role and readable by the unauthenticated one
// (@auth(rules: [{allow: private, provider: iam}, {allow: public,
// provider: iam, operations: [read]}])), accepting creds and nothing
// else.
func iamBackend(t *testing.T, creds ...auth.IAMCredential) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "blog", "schema.graphql"))
	must(t, err)
	sdl := strings.ReplaceAll(string(src), "@model", "@model @auth(rules: [{allow: private, provider: iam}, {allow: public, provider: iam, operations: [read]}])")
	sch, err := schema.Load([]schema.Source{{Name: "blog-iam.graphql", Input: sdl}}, schema.Options{})
	must(t, err)
	_, ts := testenv.Serve(t, serve.Config{Schema: sch, Store: testenv.OpenStore(t, store.Options{}),
		Auth: auth.Config{IAM: &auth.IAMConfig{Credentials: creds}}}, false)
	return ts.URL + "/graphql"
}

// iamClient is a blog store syncing with the engine in IAM mode with c.
func iamClient(t *testing.T, url string, c auth.IAMCredential) *goClient {
	t.Helper()
	ctx := context.Background()
	ds, err := blogm.Open(ctx, t.TempDir(), datastore.Outbox())
	must(t, err)
	eng, err := syncengine.New(ds.Store(), syncengine.Config{
		Endpoint: url,
		Auth: client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
			return client.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}),
		MaxBackoff: 300 * time.Millisecond,
	})
	must(t, err)
	return runClient(t, ds, eng)
}

func hasPost(c *goClient, id string, title string) func() bool {
	return func() bool {
		p, err := c.ds.Post.Get(context.Background(), id)
		return err == nil && p.Title == title
	}
}

// TestIAMEngine runs Go sync engines in AWS_IAM mode against dsgen serve:
// two devices of the authenticated role (an IAM user's long-term key and
// temporary credentials with a session token) see each other's creates,
// updates and deletes live, over subscriptions whose connection and start
// messages are SigV4-signed; a guest device (the unauthenticated role)
// receives them too, and its own write, which public iam rules do not
// allow, becomes a dead letter while nothing else is lost.
func TestIAMEngine(t *testing.T) {
	ctx := context.Background()
	gateway := auth.IAMCredential{AccessKeyID: "AKIDGATEWAY", SecretAccessKey: "gateway/secret+key", Role: auth.IAMAuthenticated}
	tablet := auth.IAMCredential{AccessKeyID: "ASIATABLET", SecretAccessKey: "tablet-secret", SessionToken: "tablet-session", Role: auth.IAMAuthenticated}
	guest := auth.IAMCredential{AccessKeyID: "ASIAGUEST", SecretAccessKey: "guest-secret", SessionToken: "guest-session", Role: auth.IAMUnauthenticated}
	url := iamBackend(t, gateway, tablet, guest)

	a := iamClient(t, url, gateway)
	b := iamClient(t, url, tablet)
	g := iamClient(t, url, guest)

	blog := &blogm.Blog{ID: "b1", Name: "Signed"}
	must(t, a.ds.Blog.Save(ctx, blog))
	must(t, a.ds.Post.Save(ctx, &blogm.Post{ID: "p1", Title: "from the gateway", BlogPostsID: &blog.ID}))
	poll.Until(t, "the gateway's post reaches the tablet live", hasPost(b, "p1", "from the gateway"))
	poll.Until(t, "the gateway's post reaches the guest live", hasPost(g, "p1", "from the gateway"))

	p, err := b.ds.Post.Get(ctx, "p1")
	must(t, err)
	p.Title = "edited on the tablet"
	must(t, b.ds.Post.Save(ctx, p))
	must(t, b.ds.Post.Save(ctx, &blogm.Post{ID: "p2", Title: "from the tablet", BlogPostsID: &blog.ID}))
	poll.Until(t, "the tablet's edit reaches the gateway live", hasPost(a, "p1", "edited on the tablet"))
	poll.Until(t, "the tablet's post reaches the gateway live", hasPost(a, "p2", "from the tablet"))

	p2, err := a.ds.Post.Get(ctx, "p2")
	must(t, err)
	must(t, a.ds.Post.Delete(ctx, p2))
	poll.Until(t, "the gateway's delete reaches the tablet", func() bool {
		_, err := b.ds.Post.Get(ctx, "p2")
		return err != nil
	})

	// The guest may read but not write.
	must(t, g.ds.Post.Save(ctx, &blogm.Post{ID: "pg", Title: "guest", BlogPostsID: &blog.ID}))
	poll.Until(t, "the guest's refused post becomes a dead letter", func() bool {
		dl, err := g.ds.Store().DeadLetters(ctx)
		return err == nil && len(dl) == 1
	})
	dl, err := g.ds.Store().DeadLetters(ctx)
	must(t, err)
	if !strings.Contains(fmt.Sprint(dl[0]), "Unauthorized") {
		t.Errorf("guest's dead letter %+v, want Unauthorized", dl[0])
	}
	for _, c := range []*goClient{a, b} {
		if dl, err := c.ds.Store().DeadLetters(ctx); err != nil || len(dl) != 0 {
			t.Errorf("authenticated device's dead letters = %v, %v", dl, err)
		}
	}
	poll.Until(t, "the guest sees the tablet's edit", hasPost(g, "p1", "edited on the tablet"))
}

func iamCreds(c auth.IAMCredential) client.Auth {
	return client.IAM("us-east-1", func(context.Context) (client.Credentials, error) {
		return client.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
	})
}

// TestIAMMultiAuth runs the auth golden schema (Note: owner writes,
// private iam and public API key reads; Ticket: no iam rule) with
// multi-auth engines whose only mode is AuthIAM: the authenticated role
// syncs every note and receives an owner's new note live over an
// IAM-signed subscription, skips Ticket and still becomes ready, and its
// own note, which no configured mode may create, becomes a dead letter;
// the unauthenticated role, which no Note rule admits, gets no note.
func TestIAMMultiAuth(t *testing.T) {
	ctx := context.Background()
	secret := []byte("iam-multiauth-test-hs256-secret!")
	user := auth.IAMCredential{AccessKeyID: "AKIDUSER", SecretAccessKey: "user-secret", Role: auth.IAMAuthenticated}
	guest := auth.IAMCredential{AccessKeyID: "ASIAGUEST", SecretAccessKey: "guest-secret", SessionToken: "tok", Role: auth.IAMUnauthenticated}
	_, ts := testenv.Serve(t, serve.Config{Schema: authm.Schema(), Store: testenv.OpenStore(t, store.Options{}),
		Auth: auth.Config{JWT: &auth.JWTConfig{HS256Secret: secret}, IAM: &auth.IAMConfig{Credentials: []auth.IAMCredential{user, guest}}}}, false)
	url := ts.URL + "/graphql"
	aliceToken := func(context.Context) (string, error) {
		return auth.SignHS256(secret, map[string]any{"sub": "alice-sub", "username": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	}
	alice, _ := multiClient(t, url, map[syncengine.AuthMode]client.Auth{syncengine.AuthUserPools: client.Token(aliceToken)})
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n1", Body: "alice's"}))
	poll.Until(t, "alice's note sent", sent(t, alice))

	reader, _ := multiClient(t, url, map[syncengine.AuthMode]client.Auth{syncengine.AuthIAM: iamCreds(user)})
	if !hasNote(reader, "n1") {
		t.Fatal("the IAM client did not sync alice's note (private iam read)")
	}
	must(t, alice.Note.Save(ctx, &authm.Note{ID: "n2", Body: "live"}))
	poll.Until(t, "alice's live note reaches the IAM client", func() bool { return hasNote(reader, "n2") })
	must(t, reader.Note.Save(ctx, &authm.Note{ID: "n3", Body: "by IAM"}))
	poll.Until(t, "the IAM client's create becomes a dead letter", func() bool {
		dl, err := reader.Store().DeadLetters(ctx)
		return err == nil && len(dl) == 1
	})
	if dl, _ := reader.Store().DeadLetters(ctx); !strings.Contains(dl[0].Reason, "no configured auth mode") {
		t.Errorf("dead letter %+v, want the reason that no mode may create a Note", dl[0])
	}

	g, _ := multiClient(t, url, map[syncengine.AuthMode]client.Auth{syncengine.AuthIAM: iamCreds(guest)})
	if hasNote(g, "n1") || hasNote(g, "n2") {
		t.Error("the unauthenticated role synced notes that only private iam rules open")
	}
}
