package schema

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// load loads one schema source named t.graphql.
func load(src string) error {
	_, err := Load([]Source{{Name: "t.graphql", Input: src}}, Options{})
	return err
}

// posOfMarker returns the file:line:col of the n-th (1-based) occurrence of
// marker in src; for a marker starting with @ it is the position of the
// directive name, which is where gqlparser places directives.
func posOfMarker(t *testing.T, src, marker string, n int) string {
	t.Helper()
	off := -1
	for i := 0; i < n; i++ {
		j := strings.Index(src[off+1:], marker)
		if j < 0 {
			t.Fatalf("marker %q #%d not in schema", marker, n)
		}
		off += 1 + j
	}
	if strings.HasPrefix(marker, "@") {
		off++
	}
	line := 1 + strings.Count(src[:off], "\n")
	col := off - strings.LastIndex(src[:off], "\n")
	return fmt.Sprintf("t.graphql:%d:%d", line, col)
}

func TestValidationRejects(t *testing.T) {
	cases := []struct {
		name   string
		src    string
		at     string // marker of the expected position
		nth    int    // occurrence of the marker, 1 when 0
		want   string // regexp the message must match
		nerrs  int    // exact number of errors, when > 0
		substr []string
	}{
		{name: "syntax error", src: "type Blog @model {\n  id: ID!\n  name: String!\n",
			at: "", want: `^t\.graphql:4:1: syntax error: Expected Name, found <EOF>`},
		{name: "syntax error in field", src: "type Blog @model {\n  id: ID!\n  name String!\n}\n",
			at: "String!", want: `syntax error: Expected :, found Name`},
		{name: "non-ASCII field name", src: "type Post @model {\n  id: ID!\n  café: String\n}\n",
			at: "é", want: `name "café" has the non-ASCII character 'é': GraphQL names may hold only ASCII letters, digits and _ .*rename it \(for example "cafe"\)`},
		{name: "non-ASCII enum value", src: "enum Mood {\n  HAPPY\n  naïve\n}\n",
			at: "ï", want: `name "naïve" has the non-ASCII character 'ï'.*\(for example "naive"\)`},
		{name: "non-ASCII punctuation", src: "type Post @model {\n  id: ID!\n  title: String → x\n}\n",
			at: "→", want: `character '→' \(U\+2192\) cannot appear here`},
		{name: "unknown type", src: "type Post @model {\n  id: ID!\n  author: Author\n}\n",
			at: "Author", want: `Post\.author: unknown type "Author"`},
		{name: "unknown type in list", src: "type Post @model {\n  tags: [Tag!]!\n}\n",
			at: "Tag!", want: `Post\.tags: unknown type "Tag"`},
		{name: "custom scalar", src: "scalar Money\ntype Post @model {\n  price: Money @default(value: \"x\")\n}\n",
			at: "Money", want: `custom scalar Money is not supported`, nerrs: 1},
		{name: "unknown type of a relation", src: "type Post @model {\n  id: ID!\n  blog: Blog @belongsTo\n  tags: [Tag] @manyToMany(relationName: \"PostTags\")\n}\n",
			at: "Blog", want: `Post\.blog: unknown type "Blog"`, nerrs: 2},
		{name: "unknown directive", src: "type Post @model {\n  id: ID!\n  title: String @searchableField\n}\n",
			at: "@searchableField", want: `unknown directive @searchableField`},
		{name: "unknown type directive", src: "type Post @model @cached {\n  id: ID!\n}\n",
			at: "@cached", want: `unknown directive @cached`},
		{name: "v1 and v2 directives mixed", src: "type Post @model @key(fields: [\"id\"]) {\n  id: ID! @primaryKey\n}\n",
			at: "@primaryKey", want: `mixes Amplify transformer v1 and v2 directives: @primaryKey \(v2\) and @key \(v1, at t\.graphql:1:19\)`},
		{name: "directive in wrong place", src: "type Post @model @primaryKey {\n  id: ID!\n}\n",
			at: "@primaryKey", want: `primaryKey`},

		// Primary keys.
		{name: "primaryKey on nullable field", src: "type Post @model {\n  slug: String @primaryKey\n}\n",
			at: "slug", want: `Post\.slug: primary key fields must be non-null: declare it as String!`},
		{name: "primaryKey on list", src: "type Post @model {\n  slugs: [String]! @primaryKey\n}\n",
			at: "slugs", want: `Post\.slugs: primary key fields must be scalars or enums, and slugs is a list`},
		{name: "primaryKey on Boolean", src: "type Post @model {\n  flag: Boolean! @primaryKey\n}\n",
			at: "flag", want: `Post\.flag: primary key fields cannot be Boolean`},
		{name: "two primaryKeys", src: "type Post @model {\n  a: ID! @primaryKey\n  b: ID! @primaryKey\n}\n",
			at: "@primaryKey", nth: 2, want: `Post\.b: a second @primaryKey \(the first is on a\)`},
		{name: "id declared nullable with a list type", src: "type Post @model {\n  id: [ID]\n}\n",
			at: "id", want: `Post\.id: primary key fields must be scalars or enums, and id is a list`},
		{name: "sortKeyFields names a missing field", src: "type Post @model {\n  a: ID! @primaryKey(sortKeyFields: [\"createdOn\"])\n}\n",
			at: "@primaryKey", want: `Post: @primaryKey\(sortKeyFields\) names field "createdOn", which Post does not have`},
		{name: "sortKeyFields names a nullable field", src: "type Post @model {\n  a: ID! @primaryKey(sortKeyFields: [\"b\"])\n  b: String\n}\n",
			at: "b: String", want: `Post\.b: primary key sort key fields must be non-null: declare it as String!`},
		{name: "sortKeyFields repeats the key", src: "type Post @model {\n  a: ID! @primaryKey(sortKeyFields: [\"a\"])\n}\n",
			at: "@primaryKey", want: `Post: @primaryKey\(sortKeyFields\) names "a" twice or repeats the key field`},

		// Indexes.
		{name: "index sort key missing", src: "type Post @model {\n  id: ID!\n  blogId: ID @index(name: \"byBlog\", sortKeyFields: [\"rank\"])\n}\n",
			at: "@index", want: `Post: @index\(name: "byBlog"\) names field "rank", which Post does not have`},
		{name: "index on a list", src: "type Post @model {\n  id: ID!\n  tags: [String] @index(name: \"byTag\")\n}\n",
			at: "tags", want: `Post\.tags: index "byTag" fields must be scalars or enums, and tags is a list`},
		{name: "index on a non-model type", src: "type Post @model {\n  id: ID!\n  meta: Meta @index(name: \"byMeta\")\n}\ntype Meta {\n  k: String\n}\n",
			at: "meta:", want: `Post\.meta: index "byMeta" fields must be scalars or enums, and meta is a non-model type \(Meta\)`},
		{name: "duplicate index names", src: "type Post @model {\n  id: ID!\n  a: ID @index(name: \"byX\")\n  b: ID @index(name: \"byX\")\n}\n",
			at: "@index", nth: 2, want: `Post: duplicate index name "byX"`},
		{name: "duplicate default index names", src: "type Post @model {\n  id: ID!\n  a: ID @index @index\n}\n",
			at: "@index", nth: 2, want: `Post: duplicate index name "postsByA"`},

		// Relations.
		{name: "hasMany on a non-list", src: "type Blog @model {\n  id: ID!\n  posts: Post @hasMany\n}\ntype Post @model {\n  id: ID!\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany needs a list field \(\[Post\]\), found Post`, nerrs: 1},
		{name: "hasOne on a list", src: "type Blog @model {\n  id: ID!\n  post: [Post] @hasOne\n}\ntype Post @model {\n  id: ID!\n}\n",
			at: "@hasOne", want: `Blog\.post: @hasOne needs a single-valued field \(Post\), found a list; use @hasMany for lists`},
		{name: "belongsTo on a list", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany\n}\ntype Post @model {\n  id: ID!\n  blogs: [Blog] @belongsTo\n}\n",
			at: "@belongsTo", want: `Post\.blogs: @belongsTo needs a single-valued field \(Blog\), found a list`, nerrs: 1},
		{name: "relation to a non-model", src: "type Post @model {\n  id: ID!\n  meta: Meta @hasOne\n}\ntype Meta {\n  k: String\n}\n",
			at: "@hasOne", want: `Post\.meta: @hasOne needs a field whose type is a @model type, and Meta is a type without @model`},
		{name: "relation to an enum", src: "type Post @model {\n  id: ID!\n  status: Status @belongsTo\n}\nenum Status {\n  A\n}\n",
			at: "@belongsTo", want: `Post\.status: @belongsTo needs a field whose type is a @model type, and Status is an enum`},
		{name: "relation to a scalar", src: "type Post @model {\n  id: ID!\n  blog: ID @belongsTo\n}\n",
			at: "@belongsTo", want: `Post\.blog: @belongsTo needs a field whose type is a @model type, and ID is a scalar`},
		{name: "relation directive on a non-model", src: "type Meta {\n  post: Post @hasOne\n}\ntype Post @model {\n  id: ID!\n}\n",
			at: "@hasOne", want: `Meta\.post: @hasOne is only allowed on @model types, and Meta has no @model`},
		{name: "two relation directives", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany @manyToMany(relationName: \"X\")\n}\ntype Post @model {\n  id: ID!\n}\n",
			at: "@manyToMany", want: `Blog\.posts: a field takes one relation directive, found @hasMany and @manyToMany`},
		{name: "one-sided manyToMany", src: "type Post @model {\n  id: ID!\n  tags: [Tag] @manyToMany(relationName: \"PostTags\")\n}\ntype Tag @model {\n  id: ID!\n}\n",
			at: "@manyToMany", want: `Post\.tags: @manyToMany\(relationName: "PostTags"\) has no other side: Tag needs a field with @manyToMany\(relationName: "PostTags"\) pointing back at Post`},
		{name: "manyToMany used three times", src: "type A @model {\n  id: ID!\n  b: [B] @manyToMany(relationName: \"J\")\n}\ntype B @model {\n  id: ID!\n  a: [A] @manyToMany(relationName: \"J\")\n}\ntype C @model {\n  id: ID!\n  a: [A] @manyToMany(relationName: \"J\")\n}\n",
			at: "@manyToMany", nth: 3, want: `C\.a: @manyToMany\(relationName: "J"\) is used 3 times`},
		{name: "manyToMany join name clashes with a type", src: "type Post @model {\n  id: ID!\n  tags: [Tag] @manyToMany(relationName: \"Tag\")\n}\ntype Tag @model {\n  id: ID!\n  posts: [Post] @manyToMany(relationName: \"Tag\")\n}\n",
			at: "@manyToMany", want: `generates a join model named Tag, which clashes with the type Tag`},
		{name: "fields with references", src: "type Blog @model {\n  id: ID!\n  name: String\n  posts: [Post] @hasMany(references: [\"blogId\"], fields: [\"name\"])\n}\ntype Post @model {\n  id: ID!\n  blogId: ID\n  blog: Blog @belongsTo(references: [\"blogId\"])\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany: 'fields' and 'references' cannot be used together`, nerrs: 1},
		{name: "belongsTo references without counterpart", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(references: [\"ownerId\"])\n}\ntype Post @model {\n  id: ID!\n  ownerId: ID\n  blogId: ID\n  blog: Blog @belongsTo(references: [\"blogId\"])\n}\n",
			at: "@belongsTo", want: `Post\.blog: @belongsTo\(references: \["blogId"\]\) needs a matching @hasOne or @hasMany\(references: \["blogId"\]\) field on Blog pointing back at Post, and there is none`},
		{name: "hasMany references without counterpart", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(references: [\"blogId\"])\n}\ntype Post @model {\n  id: ID!\n  blogId: ID\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany\(references: \["blogId"\]\) needs a matching @belongsTo\(references: \["blogId"\]\) field on Post, and there is none`},
		{name: "references to a missing field", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(references: [\"blogId\"])\n}\ntype Post @model {\n  id: ID!\n  blog: Blog @belongsTo(references: [\"blogId\"])\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany\(references: \["blogId"\]\): Post has no field "blogId"`},
		{name: "references count differs from the key", src: "type Blog @model {\n  id: ID! @primaryKey(sortKeyFields: [\"name\"])\n  name: String!\n  posts: [Post] @hasMany(references: [\"blogId\"])\n}\ntype Post @model {\n  id: ID!\n  blogId: ID\n  blog: Blog @belongsTo(references: [\"blogId\"])\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany\(references: \["blogId"\]\) names 1 field, but the primary key of Blog has 2 \(id, name\)`},
		{name: "belongsTo without counterpart", src: "type Blog @model {\n  id: ID!\n}\ntype Post @model {\n  id: ID!\n  blog: Blog @belongsTo\n}\n",
			at: "@belongsTo", want: `Post\.blog: @belongsTo needs a @hasOne or @hasMany field on Blog that points back at Post, and there is none`},
		{name: "belongsTo fields names a missing field", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany\n}\ntype Post @model {\n  id: ID!\n  blog: Blog @belongsTo(fields: [\"blogID\"])\n}\n",
			at: "@belongsTo", want: `Post\.blog: @belongsTo\(fields: \["blogID"\]\): Post has no field "blogID"`},
		{name: "hasMany indexName not found", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(indexName: \"byBlog\", fields: [\"id\"])\n}\ntype Post @model {\n  id: ID!\n  blogID: ID\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany\(indexName: "byBlog"\): Post has no @index named "byBlog"`},
		{name: "relation keys of different types", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(indexName: \"byBlog\", fields: [\"id\"])\n}\ntype Post @model {\n  id: ID!\n  blogID: Int @index(name: \"byBlog\")\n}\n",
			at: "@hasMany", want: `Blog\.posts: @hasMany pairs Blog\.id \(ID\) with Post\.blogID \(Int\), which cannot hold the same values`},

		// Defaults.
		{name: "default not an Int", src: "type Post @model {\n  id: ID!\n  rating: Int @default(value: \"high\")\n}\n",
			at: "@default", want: `Post\.rating: @default\(value: "high"\) does not fit type Int`},
		{name: "default Int overflow", src: "type Post @model {\n  id: ID!\n  rating: Int @default(value: \"3000000000\")\n}\n",
			at: "@default", want: `does not fit type Int \(a 32-bit integer\)`},
		{name: "default not a Boolean", src: "type Post @model {\n  id: ID!\n  draft: Boolean @default(value: \"yes\")\n}\n",
			at: "@default", want: `Post\.draft: @default\(value: "yes"\) does not fit type Boolean`},
		{name: "default not a Float", src: "type Post @model {\n  id: ID!\n  score: Float @default(value: \"1.2.3\")\n}\n",
			at: "@default", want: `does not fit type Float`},
		{name: "default not an AWSDate", src: "type Post @model {\n  id: ID!\n  day: AWSDate @default(value: \"tomorrow\")\n}\n",
			at: "@default", want: `Post\.day: @default\(value: "tomorrow"\) does not fit type AWSDate: `},
		{name: "default not an AWSEmail", src: "type Post @model {\n  id: ID!\n  mail: AWSEmail @default(value: \"nobody\")\n}\n",
			at: "@default", want: `Post\.mail: @default\(value: "nobody"\) does not fit type AWSEmail: `},
		{name: "default not an enum value", src: "type Post @model {\n  id: ID!\n  status: Status @default(value: \"ARCHIVED\")\n}\nenum Status {\n  DRAFT\n  PUBLISHED\n}\n",
			at: "@default", want: `Post\.status: @default\(value: "ARCHIVED"\) is not a value of enum Status \(DRAFT, PUBLISHED\)`},
		{name: "default on a list", src: "type Post @model {\n  id: ID!\n  tags: [String] @default(value: \"a\")\n}\n",
			at: "@default", want: `Post\.tags: @default\(value: "a"\) is only allowed on scalar and enum fields`},

		// Names that clash with generated code.
		{name: "field starting with underscore", src: "type Post @model {\n  id: ID!\n  _version: Int\n}\n",
			at: "_version", want: `Post\._version: the name is reserved for sync metadata`},
		{name: "enum value true", src: "enum Answer {\n  YES\n  true\n}\n",
			at: "true", want: `enum Answer: true cannot be an enum value: GraphQL reserves true, false and null; rename it \(for example TRUE\)`},
		{name: "field _deleted", src: "type Post @model {\n  id: ID!\n  _deleted: Boolean\n}\n",
			at: "_deleted", want: `Post\._deleted: the name is reserved for sync metadata`},
		{name: "field starting with __", src: "type Post @model {\n  id: ID!\n  __typename: String\n}\n",
			at: "__typename", want: `Name "__typename" must not begin with "__", which is reserved by GraphQL introspection`},
		{name: "underscore field clashes in Go", src: "type Post @model {\n  id: ID!\n  foo: String\n  _foo: String\n}\n",
			at: "_foo", want: `Post\._foo: its Go field name Foo clashes with field foo`},
		{name: "field Go names clash", src: "type Post @model {\n  id: ID!\n  blogId: ID\n  blog_id: ID\n}\n",
			at: "blog_id", want: `Post\.blog_id: its Go field name BlogID clashes with field blogId`},
		{name: "field clashes with an implicit foreign key", src: "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany\n}\ntype Post @model {\n  id: ID!\n  blogPostsID: ID\n}\n",
			at: "Post @model", want: `Post\.blogPostsId: its Go field name BlogPostsID clashes with field blogPostsID \(blogPostsId is generated`},
		{name: "model named DataStore", src: "type DataStore @model {\n  id: ID!\n}\n",
			at: "DataStore", want: `model DataStore: the name is reserved: the generated package declares DataStore`},
		{name: "model named Tx", src: "type Tx @model {\n  id: ID!\n}\n",
			at: "Tx", want: `model Tx: the name is reserved`},
		{name: "model named Schema", src: "type Schema @model {\n  id: ID!\n}\n",
			at: "Schema", want: `model Schema: the name is reserved`},
		{name: "model named Option", src: "type Option @model {\n  id: ID!\n}\n",
			at: "Option", want: `model Option: the name is reserved`},
		{name: "enum named Schema", src: "enum Schema {\n  A\n}\n",
			at: "Schema", want: `enum Schema: the name is reserved`},
		{name: "model X and model XRepo", src: "type Post @model {\n  id: ID!\n}\ntype PostRepo @model {\n  id: ID!\n}\n",
			at: "PostRepo", want: `model PostRepo: its Go name PostRepo clashes with the repository type PostRepo of model Post`, nerrs: 1},
		{name: "model XRepo before model X", src: "type PostRepo @model {\n  id: ID!\n}\ntype Post @model {\n  id: ID!\n}\n",
			at: "Post @model", want: `the repository type PostRepo of model Post: its Go name PostRepo clashes with model PostRepo`, nerrs: 1},
		{name: "models with the same lower-cased name", src: "type BlogPost @model {\n  id: ID!\n}\ntype Blogpost @model {\n  id: ID!\n}\n",
			at: "Blogpost", want: `model Blogpost: model BlogPost and model Blogpost would both generate the Go package "blogpost"`, nerrs: 1},
		{name: "type and enum with the same Go name", src: "type Post_Status {\n  a: String\n}\nenum PostStatus {\n  A\n}\n",
			at: "PostStatus {", want: `enum PostStatus: its Go name PostStatus clashes with type Post_Status`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := load(c.src)
			if err == nil {
				t.Fatalf("schema accepted, want an error matching %q", c.want)
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want schema.Errors: %v", err, err)
			}
			re := regexp.MustCompile(c.want)
			var pos string
			if c.at != "" {
				n := c.nth
				if n == 0 {
					n = 1
				}
				pos = posOfMarker(t, c.src, c.at, n)
			}
			found := false
			for _, e := range list {
				if re.MatchString(e.Error()) && (pos == "" || e.Pos.String() == pos) {
					found = true
				}
				if e.Pos.File != "t.graphql" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("error without a usable position: %v", e)
				}
			}
			if !found {
				t.Errorf("no error matching %q at %s; got:\n%v", c.want, pos, err)
			}
			if c.nerrs > 0 && len(list) != c.nerrs {
				t.Errorf("got %d errors, want %d:\n%v", len(list), c.nerrs, err)
			}
		})
	}
}

// TestValidSchemasStillLoad guards against over-eager validation: schemas
// close to the rejected ones load.
func TestValidSchemasStillLoad(t *testing.T) {
	for name, src := range map[string]string{
		"nullable index field":         "type Post @model {\n  id: ID!\n  blogId: ID @index(name: \"byBlog\", sortKeyFields: [\"rank\"])\n  rank: Int\n}\n",
		"defaults that fit":            "type Post @model {\n  id: ID!\n  rating: Int @default(value: \"5\")\n  draft: Boolean @default(value: \"true\")\n  score: Float @default(value: \"1.5\")\n  title: String @default(value: \"x\")\n  status: Status @default(value: \"DRAFT\")\n}\nenum Status {\n  DRAFT\n}\n",
		"primaryKey on id":             "type Post @model {\n  id: ID! @primaryKey\n}\n",
		"nullable id is made non-null": "type Post @model {\n  id: ID\n}\n",
		"references both sides":        "type Blog @model {\n  id: ID!\n  posts: [Post] @hasMany(references: [\"blogId\"])\n}\ntype Post @model {\n  id: ID!\n  blogId: ID\n  blog: Blog @belongsTo(references: [\"blogId\"])\n}\n",
		"unconnected model field":      "type Blog @model {\n  id: ID!\n  post: Post\n}\ntype Post @model {\n  id: ID!\n}\n",
		"field starting with _":        "type Post @model {\n  id: ID!\n  _foo: String\n}\n",
		"custom query":                 "type Query {\n  echo(msg: String!, opts: EchoInput): String\n}\ninput EchoInput {\n  loud: Boolean\n}\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := load(src); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestUnconnectedModelFieldWarns checks that a model-typed field without a
// relation directive is left out with a warning, as Amplify does.
func TestUnconnectedModelFieldWarns(t *testing.T) {
	var warnings []string
	s, err := Load([]Source{{Name: "t.graphql", Input: "type Blog @model {\n  id: ID!\n  post: Post\n}\ntype Post @model {\n  id: ID!\n}\n"}},
		Options{Warn: func(e *Error) { warnings = append(warnings, e.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Model("Blog").Field("post") != nil {
		t.Error("Blog.post kept")
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "t.graphql:3:3: Blog.post: field of model type Post has no relation directive") {
		t.Errorf("warnings = %q", warnings)
	}
}

// TestInvalidCorpus checks every schema of the shared invalid corpus is
// rejected with a positioned message that says what is wrong.
func TestInvalidCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "schemas", "invalid")
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid schemas: %v", err)
	}
	// What each message must say, by file.
	want := map[string]string{
		"api-modelgen-model-gen-schema-with-errors.graphql":                   `:2:16: MyType\.missingType: unknown type "Missing"`,
		"hasone-to-nonmodel.graphql":                                          `:3:15: Post\.meta: @hasOne needs a field whose type is a @model type, and Meta is a type without @model`,
		"mg-intro-throws-error-when-missing-references-on-hasmany-pr.graphql": `:11:24: SqlRelated\.primary: @belongsTo\(references: \["primaryId"\]\) needs a matching @hasOne or @hasMany\(references: \["primaryId"\]\) field on SqlPrimary`,
		"mg-intro-throws-error-when-missing-references-on-hasone-pri.graphql": `:11:24: SqlRelated\.primary: @belongsTo\(references: \["primaryId"\]\) needs a matching @hasOne or @hasMany\(references: \["primaryId"\]\) field on SqlPrimary`,
		"mg-intro-throws-error-when-using-fields-and-references-on-b.graphql": `:11:24: SqlRelated\.primary: @belongsTo: 'fields' and 'references' cannot be used together`,
		"mg-intro-throws-error-when-using-fields-and-references-on-h.graphql": `:4:27: SqlPrimary\.related: @hasMany: 'fields' and 'references' cannot be used together`,
		"syntax-unclosed-type.graphql":                                        `:4:1: syntax error: Expected Name, found <EOF>`,
	}
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			_, err := LoadPath(f, Options{})
			if err == nil {
				t.Fatal("schema accepted")
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, not positioned: %v", err, err)
			}
			if len(list) != 1 {
				t.Errorf("got %d errors, want exactly the one that matters:\n%v", len(list), err)
			}
			w, ok := want[base]
			if !ok {
				t.Fatalf("new invalid schema; add what its message must say: %v", err)
			}
			re := regexp.MustCompile("^" + regexp.QuoteMeta(f) + w)
			if !re.MatchString(list[0].Error()) {
				t.Errorf("message %q\ndoes not match %q", list[0].Error(), w)
			}
		})
	}
}

// TestAllErrorsReportedSorted checks that one load reports every problem,
// sorted by file, line and column, one per line.
func TestAllErrorsReportedSorted(t *testing.T) {
	src := `type Post @model {
  id: ID!
  _version: String
  rating: Int @default(value: "high")
  blog: Blog @belongsTo
  tags: [Tag] @manyToMany(relationName: "PostTags")
}
type Blog @model {
  id: ID!
  a: ID @index(name: "byX")
  b: ID @index(name: "byX")
}
type Tag @model {
  slug: String @primaryKey
}
type PostRepo @model {
  id: ID!
}
`
	err := load(src)
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want schema.Errors, got %v", err)
	}
	wantAt := []struct{ marker, msg string }{
		{"_version", "reserved for sync metadata"},
		{"@default", `@default(value: "high") does not fit type Int`},
		{"@belongsTo", "@belongsTo needs a @hasOne or @hasMany field on Blog"},
		{"@manyToMany", "has no other side"},
		{`@index(name: "byX")`, `duplicate index name "byX"`},
		{"slug", "primary key fields must be non-null"},
		{"PostRepo @model", "clashes with the repository type PostRepo of model Post"},
	}
	if len(list) != len(wantAt) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(wantAt), err)
	}
	for i, w := range wantAt {
		nth := 1
		if strings.HasPrefix(w.marker, "@index") {
			nth = 2
		}
		pos := posOfMarker(t, src, w.marker, nth)
		if list[i].Pos.String() != pos || !strings.Contains(list[i].Msg, w.msg) {
			t.Errorf("error %d = %v, want %s: ...%s", i, list[i], pos, w.msg)
		}
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(wantAt) {
		t.Errorf("Error() has %d lines, want one per problem", len(lines))
	}

	// Across files: sorted by file name, then position; every file's syntax
	// errors are reported.
	_, err = Load([]Source{
		{Name: "b.graphql", Input: "type Post @model {\n  id: ID!\n"},
		{Name: "a.graphql", Input: "type Blog @model {\n  id ID!\n}\n"},
	}, Options{})
	if !errors.As(err, &list) || len(list) != 2 || list[0].Pos.File != "a.graphql" || list[1].Pos.File != "b.graphql" {
		t.Errorf("multi-file errors not all reported in order:\n%v", err)
	}
}

func TestVersionHash(t *testing.T) {
	base := `type Blog @model @auth(rules: [{allow: public}]) {
  id: ID!
  name: String!
  posts: [Post] @hasMany
}
type Post @model {
  id: ID!
  title: String!
  status: Status
  blog: Blog @belongsTo
}
enum Status {
  DRAFT
  PUBLISHED
}
`
	hash := func(t *testing.T, src string) string {
		t.Helper()
		s, err := Load([]Source{{Name: "t.graphql", Input: src}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Version) != 32 {
			t.Fatalf("version %q is not 32 hex digits", s.Version)
		}
		return s.Version
	}
	h0 := hash(t, base)
	if h0 != hash(t, base) {
		t.Fatal("hash not deterministic")
	}
	same := map[string]string{
		"fields reordered": strings.Replace(base, "  id: ID!\n  name: String!\n", "  name: String!\n  id: ID!\n", 1),
		"models reordered": base[strings.Index(base, "type Post"):strings.Index(base, "enum")] + base[:strings.Index(base, "type Post")] + base[strings.Index(base, "enum"):],
		"auth changed":     strings.Replace(base, "{allow: public}", "{allow: owner}, {allow: private, operations: [read]}", 1),
		"auth removed":     strings.Replace(base, " @auth(rules: [{allow: public}])", "", 1),
		"comments":         "# a comment\n" + strings.ReplaceAll(base, "\n  title", "\n  # the title\n  title"),
		"enum reordered":   strings.Replace(base, "  DRAFT\n  PUBLISHED\n", "  PUBLISHED\n  DRAFT\n", 1),
		"default added":    strings.Replace(base, "title: String!", `title: String! @default(value: "x")`, 1),
	}
	for name, src := range same {
		if h := hash(t, src); h != h0 {
			t.Errorf("%s: hash changed", name)
		}
	}
	changed := map[string]string{
		"field added":          strings.Replace(base, "title: String!", "title: String!\n  body: String", 1),
		"field removed":        strings.Replace(base, "  status: Status\n", "", 1),
		"field renamed":        strings.Replace(base, "title: String!", "heading: String!", 1),
		"nullability changed":  strings.Replace(base, "title: String!", "title: String", 1),
		"type changed":         strings.Replace(base, "title: String!", "title: AWSURL!", 1),
		"list changed":         strings.Replace(base, "title: String!", "title: [String]!", 1),
		"primary key changed":  strings.Replace(base, "title: String!", "title: String! @primaryKey", 1),
		"sort key added":       strings.Replace(base, "title: String!", "title: String! @primaryKey(sortKeyFields: [\"id\"])", 1),
		"index added":          strings.Replace(base, "title: String!", "title: String! @index(name: \"byTitle\")", 1),
		"enum value added":     strings.Replace(base, "  PUBLISHED\n", "  PUBLISHED\n  ARCHIVED\n", 1),
		"relation changed":     strings.Replace(strings.Replace(base, "posts: [Post] @hasMany", "posts: [Post] @hasMany(indexName: \"byBlog\", fields: [\"id\"])", 1), "blog: Blog @belongsTo", "blogID: ID @index(name: \"byBlog\")\n  blog: Blog @belongsTo(fields: [\"blogID\"])", 1),
		"model added":          base + "type Tag @model {\n  id: ID!\n}\n",
		"non-model type added": strings.Replace(base, "status: Status", "status: Status\n  meta: Meta", 1) + "type Meta {\n  k: String\n}\n",
	}
	seen := map[string]string{h0: "base"}
	for name, src := range changed {
		h := hash(t, src)
		if prev, ok := seen[h]; ok {
			t.Errorf("%s: hash equals that of %s", name, prev)
		}
		seen[h] = name
	}
}

// TestIndexDefaultName checks Amplify's name for an @index without one.
func TestIndexDefaultName(t *testing.T) {
	s, err := Load([]Source{{Name: "t.graphql", Input: "type Employee @model {\n  id: ID!\n  manager: ID @index(sortKeyFields: [\"level\"])\n  level: Int\n}\n"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ix := s.Model("Employee").Indexes; len(ix) != 1 || ix[0].Name != "employeesByManagerAndLevel" {
		t.Errorf("indexes = %+v", ix)
	}
}

func TestPlural(t *testing.T) {
	for in, want := range map[string]string{
		"Blog": "Blogs", "Post": "Posts", "PostTags": "PostTags", "Person": "People", "Category": "Categories",
		"Status": "Statuses", "Box": "Boxes", "Church": "Churches", "Series": "Series", "Child": "Children",
		"Leaf": "Leaves", "Knife": "Knives", "Day": "Days", "Quiz": "Quizzes", "TestTypes": "TestTypes",
		"Analysis": "Analyses", "Datum": "Data", "Sheep": "Sheep", "BlogPost": "BlogPosts", "Model1": "Model1s",
		"USER": "USERS", "Man": "Men", "Mouse": "Mice", "Hero": "Heroes", "Todo": "Todos", "Species": "Species",
	} {
		if got := plural(in); got != want {
			t.Errorf("plural(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"ManyLeft": "manyLeft", "HTTPServer": "httpServer", "Post2Tag": "post2Tag", "post_tag": "postTag", "A1b": "a1b"} {
		if got := camelCase(in); got != want {
			t.Errorf("camelCase(%q) = %q, want %q", in, got, want)
		}
	}
	if got := joinModelName("leftRightJoin"); got != "LeftRightJoin" {
		t.Errorf("joinModelName = %q", got)
	}
	if got := joinCamel("Blog", "posts", "id"); got != "blogPostsId" {
		t.Errorf("joinCamel = %q", got)
	}
}

// TestIndependentErrorsAtOnce checks that mistakes found by different
// stages (name checks, GraphQL validation, building, validation) are all
// reported by one load, and that a broken field causes no follow-on errors.
func TestIndependentErrorsAtOnce(t *testing.T) {
	src := `type Post @model {
  id: ID!
  title: String @searchable2
  rating: Int @default(value: "high")
  author: Author @belongsTo
  blog: Blog @belongsTo(fields: ["blogID"], nope: 1)
  blogID: ID
}
type Blog @model {
  id: ID!
  posts: [Post] @hasMany @hasMany
}
type Tag @model {
  slug: String @primaryKey
  owner: Missing @primaryKey(sortKeyFields: ["slug"]) @default(value: "x")
}
`
	err := load(src)
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want schema.Errors, got %v", err)
	}
	want := []string{
		posOfMarker(t, src, "@searchable2", 1) + ": unknown directive @searchable2 (declare it with `directive @searchable2 on ...` or list it under directives in dsgen.yml)",
		posOfMarker(t, src, "@default", 1) + `: Post.rating: @default(value: "high") does not fit type Int (a 32-bit integer)`,
		posOfMarker(t, src, "Author", 1) + `: Post.author: unknown type "Author": it is not a built-in or AWS scalar, and the schema defines no type, enum or input of that name`,
		posOfMarker(t, src, "nope", 1) + ": Undefined argument nope for directive belongsTo.",
		posOfMarker(t, src, "@hasMany", 2) + ": The directive hasMany can only be used once at this location.",
		posOfMarker(t, src, "slug:", 1) + ": Tag.slug: primary key fields must be non-null: declare it as String!",
		posOfMarker(t, src, "Missing", 1) + `: Tag.owner: unknown type "Missing": it is not a built-in or AWS scalar, and the schema defines no type, enum or input of that name`,
		posOfMarker(t, src, "@primaryKey", 2) + ": Tag.owner: a second @primaryKey (the first is on slug); a model has exactly one primary key, use sortKeyFields for a composite key",
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
