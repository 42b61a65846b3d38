// Command sync runs the blog example's sync end to end in one process: a
// `dsgen serve` backend on loopback and two Go clients, each with its own
// on-disk store and sync engine. Client B goes offline, edits a post, and
// comes back; the edit reaches client A, and what A did meanwhile reaches B.
//
//	go run ./examples/blog/sync
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/syncengine"
)

const apiKey = "da2-blog-example"

func main() {
	dir := flag.String("dir", "", "directory for the server's and clients' data (default: a temporary one, removed at exit)")
	flag.Parse()
	if err := run(*dir); err != nil {
		log.Fatal(err)
	}
}

func run(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dsgen-blog-sync-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	// The backend: dsgen serve for the blog schema, on a free port.
	url, stopServer, err := startBackend(ctx, dir)
	if err != nil {
		return err
	}
	defer stopServer()
	fmt.Println("dsgen serve:", url)

	a, err := openClient(ctx, "A", filepath.Join(dir, "client-a"), url)
	if err != nil {
		return err
	}
	defer a.close()
	b, err := openClient(ctx, "B", filepath.Join(dir, "client-b"), url)
	if err != nil {
		return err
	}
	defer b.close()

	// 1. A writes; B receives it through its subscription.
	blog := &model.Blog{Name: "Offline first"}
	if err := a.ds.Blog.Save(ctx, blog); err != nil {
		return err
	}
	post := &model.Post{Title: "Hello from A", Rating: ptr(4), Status: ptr(model.PostStatusPublished), BlogPostsID: &blog.ID}
	if err := a.ds.Post.Save(ctx, post); err != nil {
		return err
	}
	got, err := waitPost(ctx, b, post.ID, func(p *model.Post) bool { return p.Title == "Hello from A" })
	if err != nil {
		return err
	}
	fmt.Printf("B received A's post %q\n", got.Title)

	// 2. B goes offline and edits the post; A comments meanwhile.
	if err := b.eng.Stop(ctx); err != nil {
		return err
	}
	fmt.Println("B is offline")
	got.Title = "Edited by B while offline"
	if err := b.ds.Post.Save(ctx, got); err != nil {
		return err
	}
	box, err := b.ds.Post.Repo().Store().Outbox(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("B saved locally; its outbox holds %d mutation(s)\n", len(box))
	comment := &model.Comment{Content: "A commented while B was away", PostCommentsID: &post.ID}
	if err := a.ds.Comment.Save(ctx, comment); err != nil {
		return err
	}

	// 3. B comes back: its outbox drains and a sync brings A's comment.
	if err := b.start(ctx); err != nil {
		return err
	}
	fmt.Println("B is back online")
	seen, err := waitPost(ctx, a, post.ID, func(p *model.Post) bool { return p.Title == got.Title })
	if err != nil {
		return err
	}
	fmt.Printf("A received B's offline edit: %q\n", seen.Title)
	for {
		c, err := b.ds.Comment.Get(ctx, comment.ID)
		if err == nil {
			fmt.Printf("B received A's comment: %q\n", c.Content)
			break
		}
		if !errors.Is(err, datastore.ErrNotFound) {
			return err
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("B never received A's comment: %w", err)
		}
	}
	sa, _, _ := a.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", post.ID)
	sb, _, _ := b.ds.Post.Repo().Store().RecordSyncMeta(ctx, "Post", post.ID)
	fmt.Printf("both clients hold the post at _version %d and %d: converged\n", sa.Version, sb.Version)
	return nil
}

func startBackend(ctx context.Context, dir string) (string, func(), error) {
	// The server builds its API from the same schema metadata the
	// generated package embeds.
	sch := model.Schema()
	st, err := store.Open(ctx, store.Options{Dir: filepath.Join(dir, "server")})
	if err != nil {
		return "", nil, err
	}
	srv, err := serve.New(serve.Config{Schema: sch, Store: st, Auth: auth.Config{APIKeys: []auth.APIKey{{Key: apiKey}}}})
	if err != nil {
		st.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(sctx, ln, 5*time.Second); err != nil {
			log.Printf("server: %v", err)
		}
	}()
	stop := func() {
		cancel()
		<-done
		st.Close()
	}
	return "http://" + ln.Addr().String() + "/graphql", stop, nil
}

type syncClient struct {
	name string
	ds   *model.DataStore
	eng  *syncengine.Engine
}

func openClient(ctx context.Context, name, dir, url string) (*syncClient, error) {
	ds, err := model.Open(ctx, dir, datastore.Outbox())
	if err != nil {
		return nil, err
	}
	eng, err := syncengine.New(ds.Store(), syncengine.Config{Endpoint: url, Auth: client.APIKey(apiKey), MaxBackoff: time.Second})
	if err != nil {
		ds.Close(ctx)
		return nil, err
	}
	c := &syncClient{name: name, ds: ds, eng: eng}
	if err := c.start(ctx); err != nil {
		c.close()
		return nil, err
	}
	fmt.Printf("client %s is synced\n", name)
	return c, nil
}

func (c *syncClient) start(ctx context.Context) error {
	if err := c.eng.Start(ctx); err != nil {
		return err
	}
	select {
	case <-c.eng.Ready():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("client %s did not sync: %w", c.name, ctx.Err())
	}
}

func (c *syncClient) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.eng.Close(ctx)
	c.ds.Close(ctx)
}

// waitPost polls c's store until the post satisfies ok.
func waitPost(ctx context.Context, c *syncClient, id string, ok func(*model.Post) bool) (*model.Post, error) {
	for {
		p, err := c.ds.Post.Get(ctx, id)
		if err == nil && ok(p) {
			return p, nil
		}
		if err != nil && !errors.Is(err, datastore.ErrNotFound) {
			return nil, err
		}
		if err := pause(ctx); err != nil {
			return nil, fmt.Errorf("client %s: post %s never arrived: %w", c.name, id, err)
		}
	}
}

func pause(ctx context.Context) error {
	select {
	case <-time.After(20 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ptr[T any](v T) *T { return &v }
