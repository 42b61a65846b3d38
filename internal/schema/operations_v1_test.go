package schema

import (
	"reflect"
	"testing"

	"github.com/dsgen/dsgen/runtime/meta"
)

// TestV1ModelOperations: the root fields a @model argument gives under
// transformer v1 (DynamoDBModelTransformer: an argument object replaces
// the defaults; sync is always there) and, for the same argument, under
// v2 (deep-merged into the defaults).
func TestV1ModelOperations(t *testing.T) {
	const (
		get, list, sync          = "getPost", "listPosts", "syncPosts"
		create, update, del      = "createPost", "updatePost", "deletePost"
		onCreate, onUpdate, onDe = "onCreatePost", "onUpdatePost", "onDeletePost"
	)
	all := meta.Operations{Get: get, List: list, Sync: sync, Create: create, Update: update, Delete: del,
		OnCreate: []string{onCreate}, OnUpdate: []string{onUpdate}, OnDelete: []string{onDe}}
	with := func(f func(o *meta.Operations)) meta.Operations {
		o := all
		f(&o)
		return o
	}
	cases := []struct {
		args   string
		v1, v2 meta.Operations
	}{
		{"", all, all},
		{"(queries: null)", with(func(o *meta.Operations) { o.Get, o.List = "", "" }), with(func(o *meta.Operations) { o.Get, o.List, o.Sync = "", "", "" })},
		{`(queries: {get: "fetchPost"})`, with(func(o *meta.Operations) { o.Get, o.List = "fetchPost", "" }), with(func(o *meta.Operations) { o.Get = "fetchPost" })},
		{`(queries: {list: "allPosts"})`, with(func(o *meta.Operations) { o.Get, o.List = "", "allPosts" }), with(func(o *meta.Operations) { o.List = "allPosts" })},
		{`(queries: {get: "fetchPost", list: null})`, with(func(o *meta.Operations) { o.Get, o.List = "fetchPost", "" }), with(func(o *meta.Operations) { o.Get, o.List = "fetchPost", "" })},
		{`(queries: {})`, with(func(o *meta.Operations) { o.Get, o.List = "", "" }), all},
		{`(queries: {get: ""})`, with(func(o *meta.Operations) { o.Get, o.List = "", "" }), with(func(o *meta.Operations) { o.Get = "" })},
		{`(mutations: {create: "addPost"})`,
			with(func(o *meta.Operations) {
				o.Create, o.Update, o.Delete, o.OnUpdate, o.OnDelete = "addPost", "", "", nil, nil
			}),
			with(func(o *meta.Operations) { o.Create = "addPost" })},
		{`(mutations: null)`,
			with(func(o *meta.Operations) {
				o.Create, o.Update, o.Delete, o.OnCreate, o.OnUpdate, o.OnDelete = "", "", "", nil, nil, nil
			}),
			with(func(o *meta.Operations) {
				o.Create, o.Update, o.Delete, o.OnCreate, o.OnUpdate, o.OnDelete = "", "", "", nil, nil, nil
			})},
		{`(subscriptions: null)`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, nil }),
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, nil })},
		{`(subscriptions: {onCreate: ["postAdded", "feed"]})`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = []string{"postAdded", "feed"}, nil, nil }),
			with(func(o *meta.Operations) { o.OnCreate = []string{"postAdded", "feed"} })},
		{`(subscriptions: {onCreate: []})`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, nil }),
			with(func(o *meta.Operations) { o.OnCreate = []string{} })},
		{`(subscriptions: {onCreate: null, onDelete: ["gone"]})`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, []string{"gone"} }),
			with(func(o *meta.Operations) { o.OnCreate, o.OnDelete = nil, []string{"gone"} })},
		{`(subscriptions: {level: public})`,
			with(func(o *meta.Operations) { o.SubscriptionsPublic = true }),
			with(func(o *meta.Operations) { o.SubscriptionsPublic = true })},
		{`(subscriptions: {level: on, onUpdate: ["changed"]})`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, []string{"changed"}, nil }),
			with(func(o *meta.Operations) { o.OnUpdate = []string{"changed"} })},
		{`(subscriptions: {level: off, onCreate: ["postAdded"]})`,
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, nil }),
			with(func(o *meta.Operations) { o.OnCreate, o.OnUpdate, o.OnDelete = nil, nil, nil })},
		// A listed subscription whose mutation is off is left out (v1
		// declares it subscribed to no mutation).
		{`(mutations: {update: "editPost"}, subscriptions: {onCreate: ["postAdded"], onUpdate: ["postEdited"]})`,
			with(func(o *meta.Operations) {
				o.Create, o.Update, o.Delete = "", "editPost", ""
				o.OnCreate, o.OnUpdate, o.OnDelete = nil, []string{"postEdited"}, nil
			}),
			with(func(o *meta.Operations) {
				o.Update = "editPost"
				o.OnCreate, o.OnUpdate = []string{"postAdded"}, []string{"postEdited"}
			})},
	}
	norm := func(o meta.Operations) meta.Operations {
		for _, l := range []*[]string{&o.OnCreate, &o.OnUpdate, &o.OnDelete} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		return o
	}
	for _, tc := range cases {
		for _, v := range []struct {
			name, marker string
			want         meta.Operations
		}{
			{"v1", `type Marker @model @key(fields: ["id"]) { id: ID! }`, tc.v1},
			{"v2", `type Marker @model { id: ID! @primaryKey }`, tc.v2},
		} {
			sdl := "type Post @model" + tc.args + " { id: ID! title: String }\n" + v.marker
			s, err := Load([]Source{{Name: "s.graphql", Input: sdl}}, Options{})
			if err != nil {
				t.Fatalf("%s @model%s: %v", v.name, tc.args, err)
			}
			if s.TransformerV1 != (v.name == "v1") {
				t.Fatalf("%s @model%s: TransformerV1 = %v", v.name, tc.args, s.TransformerV1)
			}
			if got := s.Operations(s.Model("Post")); !reflect.DeepEqual(norm(got), norm(v.want)) {
				t.Errorf("%s @model%s:\n got %+v\nwant %+v", v.name, tc.args, got, v.want)
			}
		}
	}
}
