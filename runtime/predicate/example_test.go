package predicate_test

import (
	"encoding/json"
	"fmt"

	"github.com/dsgen/dsgen/runtime/predicate"
)

type PostStatus string

const (
	PostStatusDraft     PostStatus = "DRAFT"
	PostStatusPublished PostStatus = "PUBLISHED"
)

type Post struct {
	ID     string
	Title  string
	Rating *int
	Status PostStatus
	Tags   []string
}

// Field handles as a generated model package declares them.
var (
	postTitle  = predicate.String[Post]("title", func(p *Post) (string, bool) { return p.Title, true })
	postStatus = predicate.String[Post]("status", func(p *Post) (PostStatus, bool) { return p.Status, p.Status != "" })
	postTags   = predicate.List[Post]("tags", func(p *Post) []string { return p.Tags })
	postRating = predicate.Ordered[Post]("rating", func(p *Post) (int, bool) {
		if p.Rating == nil {
			return 0, false
		}
		return *p.Rating, true
	})
)

func Example() {
	four, one := 4, 1
	posts := []*Post{
		{ID: "1", Title: "Tea", Rating: &four, Status: PostStatusPublished},
		{ID: "2", Title: "Toast", Status: PostStatusDraft, Tags: []string{"food"}},
		{ID: "3", Title: "Coffee", Rating: &one, Status: PostStatusPublished},
		{ID: "4", Title: "Tacos", Rating: &four, Status: PostStatusPublished},
	}

	p := predicate.Or(
		predicate.And(postRating.Gt(3), postTitle.BeginsWith("T")),
		predicate.Not(postStatus.Eq(PostStatusPublished)),
		postTags.Contains("coffee"),
	)
	var found []*Post
	for _, post := range posts {
		if p.Match(post) {
			found = append(found, post)
		}
	}
	predicate.Sort(found, postRating.Desc(), postTitle.Asc())
	for _, post := range found {
		fmt.Println(post.ID, post.Title)
	}

	fmt.Println(p)
	filter, _ := json.Marshal(p.Expr().GraphQLFilter())
	fmt.Println(string(filter))
	// Output:
	// 4 Tacos
	// 1 Tea
	// 2 Toast
	// (rating > 3 AND title beginsWith "T") OR NOT (status = "PUBLISHED") OR tags contains "coffee"
	// {"or":[{"and":[{"rating":{"gt":3}},{"title":{"beginsWith":"T"}}]},{"not":{"status":{"eq":"PUBLISHED"}}},{"tags":{"contains":"coffee"}}]}
}
