package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	// The generated package carries the schema metadata.
	s := model.Schema()
	fmt.Printf("schema %s: %d models\n", model.SchemaVersion, len(s.Models))
	for _, m := range s.Models {
		fmt.Printf("  %-8s key %v, %d fields\n", m.Name, m.PrimaryKey.Fields(), len(m.Fields))
	}

	// Typed predicates and sort orders work on plain structs today.
	rating := func(n int) *int { return &n }
	draft := model.PostStatusDraft
	posts := []*model.Post{
		{ID: "1", Title: "Travel light", Rating: rating(5)},
		{ID: "2", Title: "Offline first", Rating: rating(4), Status: &draft},
		{ID: "3", Title: "Tidy sync", Rating: rating(2)},
		{ID: "4", Title: "Typed queries"},
	}
	where := predicate.And(post.Rating.Gt(3), post.Title.BeginsWith("T"))
	fmt.Printf("where %s:\n", where)
	for _, p := range posts {
		if where.Match(p) {
			fmt.Printf("  %s %q\n", p.ID, p.Title)
		}
	}
	predicate.Sort(posts, post.Rating.Desc(), post.Title.Asc())
	fmt.Print("by rating desc, title asc:")
	for _, p := range posts {
		fmt.Printf(" %s", p.ID)
	}
	fmt.Println()

	// The repositories compile against the runtime; the storage engine
	// behind them is the next milestone.
	dir, err := os.MkdirTemp("", "dsgen-blog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ds, err := model.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer ds.Close(ctx)
	err = ds.Post.Save(ctx, posts[0])
	switch {
	case errors.Is(err, datastore.ErrNotImplemented):
		fmt.Println("local storage: not implemented yet (see README, Limits)")
	case err != nil:
		return err
	default:
		fmt.Println("saved post", posts[0].ID)
	}
	return nil
}
