package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/comment"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
)

func main() {
	dir := flag.String("dir", "", "keep the store in this directory (default: a temporary one, removed at exit)")
	flag.Parse()
	if err := run(context.Background(), *dir); err != nil {
		log.Fatal(err)
	}
}

// run is the tour: one function that reads top to bottom, in the order a
// newcomer meets the API, which is why it is longer than functions
// elsewhere in the repository.
func run(ctx context.Context, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "dsgen-blog-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	// A DataStore is a directory on disk; it works with no network at all.
	ds, err := model.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer ds.Close(ctx)
	fmt.Printf("opened %s (schema %s)\n", dir, model.SchemaVersion)

	// Observers see every committed change, in commit order. A live query
	// delivers snapshots of its results as they change.
	obsCtx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	changes := ds.Post.Observe(obsCtx)
	published := ds.Post.ObserveQuery(obsCtx, ds.Post.Query().
		Where(post.Status.Eq(model.PostStatusPublished)).
		Order(post.Rating.Desc()))
	fmt.Printf("live query, first snapshot: %d published posts\n", len((<-published).Items))

	// One atomic batch: a blog, its posts, comments, tags and the
	// many-to-many join rows. All of it is saved, or none.
	blog := &model.Blog{Name: "Field notes"}
	posts := []*model.Post{
		{Title: "Travel light", Rating: ptr(5), Status: ptr(model.PostStatusPublished)},
		{Title: "Offline first", Rating: ptr(4), Status: ptr(model.PostStatusPublished)},
		{Title: "Tidy sync", Rating: ptr(2), Status: ptr(model.PostStatusDraft)},
		{Title: "Typed queries", Rating: ptr(4), Status: ptr(model.PostStatusPublished)},
	}
	goTag, syncTag := &model.Tag{Label: "go"}, &model.Tag{Label: "sync"}
	err = ds.Batch(ctx, func(tx *model.Tx) error {
		if err := tx.Blog.Save(ctx, blog); err != nil {
			return err
		}
		for _, t := range []*model.Tag{goTag, syncTag} {
			if err := tx.Tag.Save(ctx, t); err != nil {
				return err
			}
		}
		for i, p := range posts {
			p.BlogPostsID = &blog.ID
			if err := tx.Post.Save(ctx, p); err != nil {
				return err
			}
			for j := range i + 1 {
				c := &model.Comment{Content: fmt.Sprintf("comment %d on %q", j+1, p.Title), PostCommentsID: &p.ID}
				if err := tx.Comment.Save(ctx, c); err != nil {
					return err
				}
			}
			tags := []*model.Tag{goTag}
			if i%2 == 1 {
				tags = append(tags, syncTag)
			}
			for _, t := range tags {
				if err := tx.PostTags.Save(ctx, &model.PostTags{PostID: &p.ID, TagID: &t.ID}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for range posts {
		c := <-changes
		fmt.Printf("observed %s %q\n", c.Op, c.Element.Title)
	}
	snap := <-published
	fmt.Printf("live query: %d published posts:", len(snap.Items))
	for _, p := range snap.Items {
		fmt.Printf(" %q(%d)", p.Title, *p.Rating)
	}
	fmt.Println()

	// Typed predicates; the planner uses the primary key and indexes where
	// the predicate allows, and scans otherwise.
	q := ds.Post.Query().Where(post.Rating.Gt(3), post.Title.BeginsWith("T")).Order(post.Title.Asc())
	top, err := q.All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("where %s: %s\n", q.Predicate(), titles(top))
	best, err := ds.Post.Query().Order(post.Rating.Desc(), post.Title.Asc()).Limit(2).All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("top 2 by rating: %s\n", titles(best))

	// Relations are lazy queries over the related records.
	first := posts[2]
	comments, err := ds.Post.QueryComments(first).Order(comment.Content.Asc()).All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%q has %d comments; first: %q\n", first.Title, len(comments), comments[0].Content)
	tags, err := ds.Post.Tags(ctx, posts[1])
	if err != nil {
		return err
	}
	fmt.Printf("%q is tagged %d times\n", posts[1].Title, len(tags))
	owner, err := ds.Post.QueryBlog(first).First(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%q belongs to %q\n", first.Title, owner.Name)

	// Conditional writes are checked atomically against the stored record.
	stale := *posts[0]
	stale.Title = "Travel lighter"
	err = ds.Post.Save(ctx, &stale, datastore.If(post.Rating.Lt(3)))
	fmt.Printf("save if rating < 3: %v\n", errors.Is(err, datastore.ErrConditionFailed))

	// Invalid values never reach the store.
	bad := &model.Post{Title: "Bad", Status: ptr(model.PostStatus("ARCHIVED"))}
	err = ds.Post.Save(ctx, bad)
	var verr *datastore.ValidationError
	if errors.As(err, &verr) {
		fmt.Printf("rejected: %v\n", err)
	}

	// Deleting the blog cascades to its posts, their comments and join rows,
	// in one transaction, as Amplify DataStore does locally.
	if err := ds.Blog.Delete(ctx, blog); err != nil {
		return err
	}
	nPosts, _ := ds.Post.Query().Count(ctx)
	nComments, _ := ds.Comment.Query().Count(ctx)
	nJoins, _ := ds.PostTags.Query().Count(ctx)
	nTags, _ := ds.Tag.Query().Count(ctx)
	fmt.Printf("after deleting the blog: %d posts, %d comments, %d post tags, %d tags\n", nPosts, nComments, nJoins, nTags)

	// Data survives a restart.
	stopObserving()
	if err := ds.Close(ctx); err != nil {
		return err
	}
	ds, err = model.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer ds.Close(ctx)
	labels, err := ds.Tag.Query().All(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("reopened: %d tags kept\n", len(labels))
	return nil
}

func titles(ps []*model.Post) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", p.Title)
	}
	return "[" + s + "]"
}

func ptr[T any](v T) *T { return &v }
