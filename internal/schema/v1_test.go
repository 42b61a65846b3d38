package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntrospectionMatchesAmplifyV1 compares our introspection of every
// transformer v1 corpus schema with what Amplify's generator emits for it
// with the v1 directive set, as TestIntrospectionMatchesAmplify does for v2.
func TestIntrospectionMatchesAmplifyV1(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedDir(t), "schemas", "v1", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no v1 corpus schemas: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		t.Run(name, func(t *testing.T) {
			s, err := LoadPath(f, corpusOptions(name))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if !s.TransformerV1 {
				t.Errorf("schema not detected as transformer v1")
			}
			got, err := Introspection(s)
			if err != nil {
				t.Fatal(err)
			}
			wantRaw, err := os.ReadFile(strings.TrimSuffix(f, ".graphql") + ".introspection.json")
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(wantRaw, &w); err != nil {
				t.Fatal(err)
			}
			if diffs := jsonDiff("", g, w); len(diffs) > 0 {
				if len(diffs) > 15 {
					diffs = append(diffs[:15], "...")
				}
				t.Errorf("introspection differs from Amplify's:\n%s", strings.Join(diffs, "\n"))
				return
			}
			if strings.TrimSpace(string(got)) != strings.TrimSpace(string(wantRaw)) {
				t.Errorf("introspection has Amplify's content but not its exact text (key order or layout)")
			}
			checkRelationKeys(t, s)
		})
	}
}

func TestV1DirectiveGivenAsCustomIsRefused(t *testing.T) {
	src := []Source{{Name: "s.graphql", Input: `type Post @model @key(fields: ["slug"]) { slug: String! title: String }`}}
	for _, d := range []string{"key", "connection", "versioned"} {
		_, err := Load(src, Options{Directives: []string{"simple", d}})
		if err == nil || !strings.Contains(err.Error(), "transformer v1") || !strings.Contains(err.Error(), `"`+d+`"`) {
			t.Errorf("--directive %s: got %v, want a refusal naming it as a transformer v1 directive", d, err)
		}
	}
	// Read natively, the key is the model's primary key.
	s, err := Load(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pk := s.Model("Post").PrimaryKey; pk.Field != "slug" || !pk.Custom || s.Model("Post").Field("id") != nil {
		t.Errorf("primary key %+v (id field %v), want slug and no id", pk, s.Model("Post").Field("id"))
	}
}

func TestV1AndV2DirectivesMixed(t *testing.T) {
	src := []Source{{Name: "mixed.graphql", Input: `type Blog @model {
  id: ID!
  posts: [Post] @hasMany
}
type Post @model @key(name: "byBlog", fields: ["blogID"]) {
  id: ID!
  blogID: ID!
}
`}}
	_, err := Load(src, Options{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got %v, want one schema error", err)
	}
	msg := errs[0].Error()
	for _, want := range []string{"mixed.graphql:5:19: ", "@key (v1) and @hasMany (v2, at mixed.graphql:3:18)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

// TestV1ConnectionKeys checks the keys each @connection form joins on and
// which foreign keys the introspection hides.
func TestV1ConnectionKeys(t *testing.T) {
	src := []Source{{Name: "blog.graphql", Input: `type Blog @model {
  id: ID!
  name: String!
  posts: [Post] @connection(keyName: "byBlog", fields: ["id"])
  owner: Owner @connection
}
type Post @model @key(name: "byBlog", fields: ["blogID", "title"]) {
  id: ID!
  title: String!
  blogID: ID!
  blog: Blog @connection(fields: ["blogID"])
  comments: [Comment] @connection(name: "PostComments", sortField: "createdAt")
  tags: [Tag] @connection
}
type Comment @model {
  id: ID!
  content: String
  createdAt: AWSDateTime
  post: Post! @connection(name: "PostComments", sortField: "createdAt")
}
type Tag @model { id: ID! label: String }
type Owner @model { id: ID! }
`}}
	s, err := Load(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		model, field string
		kind         string
		keys, rel    string
		index        string
	}
	for _, w := range []want{
		{"Blog", "posts", "HAS_MANY", "id", "blogID", "byBlog"},
		{"Blog", "owner", "BELONGS_TO", "blogOwnerId", "id", ""},
		{"Post", "blog", "BELONGS_TO", "blogID", "id", ""},
		{"Post", "comments", "HAS_MANY", "id", "commentPostId", ""},
		{"Post", "tags", "HAS_MANY", "id", "postTagsId", ""},
		{"Comment", "post", "BELONGS_TO", "commentPostId", "id", ""},
	} {
		f := s.Model(w.model).Field(w.field)
		if f == nil || f.Relation == nil {
			t.Errorf("%s.%s: no relation", w.model, w.field)
			continue
		}
		r := f.Relation
		got := want{w.model, w.field, r.Kind.String(), strings.Join(r.Keys, ","), strings.Join(r.RelatedKeys, ","), r.IndexName}
		if got != w {
			t.Errorf("%s.%s: got %+v, want %+v", w.model, w.field, got, w)
		}
	}
	hidden := map[string]bool{"Blog.blogOwnerId": true, "Post.blogID": true, "Comment.commentPostId": true, "Tag.postTagsId": false}
	for path, h := range hidden {
		m, name, _ := strings.Cut(path, ".")
		f := s.Model(m).Field(name)
		if f == nil || f.Hidden != h {
			t.Errorf("%s: field %v, want stored with Hidden=%v", path, f, h)
		}
	}
	if f := s.Model("Comment").Field("commentPostId"); f == nil || !f.Required {
		t.Errorf("Comment.commentPostId should be required, as Comment.post is non-null")
	}
	if ix := s.Model("Comment").Index("gsi-PostComments"); ix == nil || strings.Join(ix.Fields, ",") != "commentPostId,createdAt" {
		t.Errorf("Comment index gsi-PostComments = %+v, want [commentPostId createdAt]", ix)
	}
	checkRelationKeys(t, s)
}

// TestV1UnknownConnectionTypeReportedOnce checks that a @connection field of
// an unknown type gets that one error, beside the schema's other problems.
func TestV1UnknownConnectionTypeReportedOnce(t *testing.T) {
	src := "type Post @model @key(fields: [\"id\"]) {\n  id: ID!\n  blog: Blog @connection(fields: [\"blogID\"])\n  blogID: ID\n  n: Int @bogus\n}\n"
	err := load(src)
	want := "t.graphql:3:9: Post.blog: unknown type \"Blog\": it is not a built-in or AWS scalar, and the schema defines no type, enum or input of that name\n" +
		"t.graphql:5:11: unknown directive @bogus (declare it with `directive @bogus on ...` or list it under directives in dsgen.yml)"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// TestV1Versioned checks @versioned: the version field is added (hidden
// from the introspection, as Amplify's generator reads the schema as
// written) or checked when declared, and the arguments reach the metadata.
func TestV1Versioned(t *testing.T) {
	s, err := Load([]Source{{Name: "v.graphql", Input: `type Note @model @versioned {
  id: ID!
  body: String
}
type Doc @model @versioned(versionField: "rev", versionInput: "expectedRev") {
  id: ID!
  rev: Int
}
`}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	note := s.Model("Note")
	if f := note.Field("version"); f == nil || f.Type != "Int" || !f.Required || !f.Hidden {
		t.Errorf("Note.version = %+v, want a hidden required Int", f)
	}
	if v, ok := note.Versioned(); !ok || v.Field != "version" || v.Input != "expectedVersion" {
		t.Errorf("Note.Versioned() = %+v, %v", v, ok)
	}
	doc := s.Model("Doc")
	if f := doc.Field("rev"); f == nil || f.Hidden || f.Required {
		t.Errorf("Doc.rev = %+v, want the declared field as written", f)
	}
	if v, ok := doc.Versioned(); !ok || v.Field != "rev" || v.Input != "expectedRev" {
		t.Errorf("Doc.Versioned() = %+v, %v", v, ok)
	}
	js, err := Introspection(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), `"name": "version"`) {
		t.Errorf("introspection lists the added version field:\n%s", js)
	}

	for _, c := range []struct{ src, want string }{
		{`type Note @model @versioned { id: ID! version: String }`, "v.graphql:1:39: Note.version: the @versioned version field must be of type Int"},
		{`type Note @model @versioned(versionInput: "body") { id: ID! body: String }`, `@versioned(versionInput: "body") is also a field of Note`},
		{"type Note @versioned { id: ID! }\ntype T @model @key(fields: [\"id\"]) { id: ID! }", "v.graphql:1:12: Note: @versioned is only allowed on @model types"},
	} {
		_, err := Load([]Source{{Name: "v.graphql", Input: c.src}}, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\ngot error %v, want it to contain %q", c.src, err, c.want)
		}
	}
}
