package codec_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/dsgen/dsgen/internal/schema"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// Post and its codec functions are what dsgen generates for the blog
// example's Post (examples/blog/model/post.go), copied here so that the
// benchmarks compare the codec with encoding/json on the same struct.
type Post struct {
	ID          string           `json:"id"`
	Title       string           `json:"title"`
	Rating      *int             `json:"rating"`
	Status      *PostStatus      `json:"status"`
	CreatedAt   *scalar.DateTime `json:"createdAt"`
	UpdatedAt   *scalar.DateTime `json:"updatedAt"`
	BlogPostsID *string          `json:"blogPostsId"`
}

type PostStatus string

func encodePost(e *codec.Encoder, v *Post) {
	e.String(1, v.ID)
	e.String(2, v.Title)
	if v.Rating != nil {
		e.Int(3, int64(*v.Rating))
	}
	if v.Status != nil {
		e.String(4, string(*v.Status))
	}
	if v.CreatedAt != nil && !v.CreatedAt.IsZero() {
		e.String(8, v.CreatedAt.String())
	}
	if v.UpdatedAt != nil && !v.UpdatedAt.IsZero() {
		e.String(9, v.UpdatedAt.String())
	}
	if v.BlogPostsID != nil {
		e.String(10, *v.BlogPostsID)
	}
}

func decodePost(d *codec.Decoder, v *Post) error {
	for d.Next() {
		switch d.Field() {
		case 1: // id
			v.ID = d.String()
		case 2: // title
			v.Title = d.String()
		case 3: // rating
			v.Rating = new(int(d.Int()))
		case 4: // status
			v.Status = new(PostStatus(d.String()))
		case 8: // createdAt
			createdAt, err := codec.Parse(d, scalar.ParseDateTime)
			if err != nil {
				return fmt.Errorf("Post.createdAt: %w", err)
			}
			v.CreatedAt = &createdAt
		case 9: // updatedAt
			updatedAt, err := codec.Parse(d, scalar.ParseDateTime)
			if err != nil {
				return fmt.Errorf("Post.updatedAt: %w", err)
			}
			v.UpdatedAt = &updatedAt
		case 10: // blogPostsId
			v.BlogPostsID = new(d.String())
		default:
			d.Skip()
		}
	}
	return d.Err()
}

const blogSDL = `
type Blog @model { id: ID! name: String! posts: [Post] @hasMany }
type Post @model {
  id: ID!
  title: String!
  rating: Int
  status: PostStatus
  blog: Blog @belongsTo
  comments: [Comment] @hasMany
  tags: [Tag] @manyToMany(relationName: "PostTags")
}
type Comment @model { id: ID! content: String! post: Post @belongsTo }
type Tag @model { id: ID! label: String! posts: [Post] @manyToMany(relationName: "PostTags") }
enum PostStatus { DRAFT PUBLISHED ARCHIVED }
`

func samplePost() *Post {
	return &Post{
		ID:          "0b6c5d2e-4f1a-4c39-9a57-2f3f0c8e9d11",
		Title:       "Offline-first apps in Go",
		Rating:      new(4),
		Status:      new(PostStatus("PUBLISHED")),
		CreatedAt:   new(scalar.MustParseDateTime("2026-11-02T10:15:30.123Z")),
		UpdatedAt:   new(scalar.MustParseDateTime("2026-11-02T10:16:02.456Z")),
		BlogPostsID: new("7a1e9f04-33c2-4b8e-8d0f-5e6a7b8c9d01"),
	}
}

// TestBenchPost checks the copied code against the blog schema: the
// schema-driven codec must write the same bytes.
func TestBenchPost(t *testing.T) {
	s, err := schema.Load([]schema.Source{{Name: "blog.graphql", Input: blogSDL}}, schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var e codec.Encoder
	encodePost(&e, samplePost())
	m, err := codec.DecodeMap(s, s.Model("Post").Fields, e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	again, err := codec.EncodeMap(s, s.Model("Post").Fields, m, nil)
	if err != nil || string(again) != string(e.Bytes()) {
		t.Fatalf("EncodeMap differs from the generated encoder (%v)", err)
	}
}

// BenchmarkPost compares encoding and decoding one Post with the record
// codec and with encoding/json:
//
//	go test -run '^$' -bench Post -benchmem ./runtime/codec
func BenchmarkPost(b *testing.B) {
	p := samplePost()
	var e codec.Encoder
	encodePost(&e, p)
	data := e.Bytes()
	js, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}

	b.Run("encode/codec", func(b *testing.B) {
		var e codec.Encoder
		buf := make([]byte, 0, 256)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			e.Reset(buf)
			encodePost(&e, p)
		}
	})
	b.Run("encode/json", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/codec", func(b *testing.B) {
		var d codec.Decoder
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var v Post
			d.Reset(data)
			if err := decodePost(&d, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var v Post
			if err := json.Unmarshal(js, &v); err != nil {
				b.Fatal(err)
			}
		}
	})

	s, err := schema.Load([]schema.Source{{Name: "blog.graphql", Input: blogSDL}}, schema.Options{})
	if err != nil {
		b.Fatal(err)
	}
	fields := s.Model("Post").Fields
	b.Run("decode/map", func(b *testing.B) {
		for b.Loop() {
			if _, err := codec.DecodeMap(s, fields, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	m, _ := codec.DecodeMap(s, fields, data)
	b.Run("encode/map", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		for b.Loop() {
			if _, err := codec.EncodeMap(s, fields, m, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
