package datastore_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	blogm "github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	scm "github.com/dsgen/dsgen/golden/aws-scalars/model"
	"github.com/dsgen/dsgen/golden/aws-scalars/model/sample"
	relm "github.com/dsgen/dsgen/golden/relations/model"
	"github.com/dsgen/dsgen/golden/relations/model/book"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// Blog ids chosen to stress key encoding: a prefix of another id, an
// embedded NUL byte and a multi-byte character.
var blogIDs = []string{"b", "ba", "b\x00x", "bé", "c"}

var postTitles = []string{"alpha", "alphabet", "Alpha", "al", "beta", "beta ", "", "gamma ray", "ål", "zeta", "a\x00b", "alpha"}

var postRatings = []int{math.MinInt32, -5, 0, 1, 2, 3, 3, 4, 5, math.MaxInt32}

// seedPosts saves blogs and n posts with nulls, ties and many values, and
// returns the posts as stored.
func seedPosts(t testing.TB, ds *blogm.DataStore, n int, seed uint64) []*blogm.Post {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, id := range blogIDs {
		must(t, ds.Blog.Save(ctx, &blogm.Blog{ID: id, Name: "blog " + id}))
	}
	var posts []*blogm.Post
	err := ds.Batch(ctx, func(tx *blogm.Tx) error {
		for i := range n {
			p := &blogm.Post{ID: fmt.Sprintf("p%03d", i), Title: postTitles[rng.IntN(len(postTitles))]}
			if rng.IntN(5) > 0 {
				p.Rating = ptr(postRatings[rng.IntN(len(postRatings))])
			}
			switch rng.IntN(3) {
			case 1:
				p.Status = ptr(blogm.PostStatusDraft)
			case 2:
				p.Status = ptr(blogm.PostStatusPublished)
			}
			if rng.IntN(4) > 0 {
				p.BlogPostsID = ptr(blogIDs[rng.IntN(len(blogIDs))])
			}
			if err := tx.Post.Save(ctx, p); err != nil {
				return err
			}
			posts = append(posts, p)
		}
		return nil
	})
	must(t, err)
	return posts
}

func postKey(p *blogm.Post) string { return p.ID }

func TestE2EPredicatesPost(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	all := seedPosts(t, ds, 240, 1)

	stored, err := ds.Post.Query().All(ctx)
	must(t, err)
	if d := diffKeys(sortedKeys(stored, postKey), sortedKeys(all, postKey)); d != "" {
		t.Fatalf("all posts: %s", d)
	}

	rating := func(p *blogm.Post) (int, bool) {
		if p.Rating == nil {
			return 0, false
		}
		return *p.Rating, true
	}
	blog := func(p *blogm.Post) (string, bool) {
		if p.BlogPostsID == nil {
			return "", false
		}
		return *p.BlogPostsID, true
	}
	status := func(p *blogm.Post) (blogm.PostStatus, bool) {
		if p.Status == nil {
			return "", false
		}
		return *p.Status, true
	}
	const ix = "index rel:blogPostsId: "
	cases := []queryCase[blogm.Post]{
		// Primary key.
		{name: "id eq", pred: post.ID.Eq("p007"), plan: "get by primary key"},
		{name: "id eq missing", pred: post.ID.Eq("nope"), plan: "get by primary key"},
		{name: "id ne", pred: post.ID.Ne("p007")},
		{name: "id gt", pred: post.ID.Gt("p100"), plan: "primary key: 0 eq, gt"},
		{name: "id ge", pred: post.ID.Ge("p100"), plan: "primary key: 0 eq, ge"},
		{name: "id lt", pred: post.ID.Lt("p100"), plan: "primary key: 0 eq, lt"},
		{name: "id le", pred: post.ID.Le("p100"), plan: "primary key: 0 eq, le"},
		{name: "id gt+lt", pred: predicate.And(post.ID.Gt("p050"), post.ID.Lt("p060")), plan: "primary key: 0 eq, gt+lt"},
		{name: "id between", pred: post.ID.Between("p050", "p099"), plan: "primary key: 0 eq, between"},
		{name: "id between reversed", pred: post.ID.Between("p099", "p050"), plan: "primary key"},
		{name: "id between equal", pred: post.ID.Between("p050", "p050"), plan: "primary key"},
		{name: "id in", pred: post.ID.In("p001", "p005", "zzz", "p005", "p239"), plan: "primary key: 0 eq, in"},
		{name: "id in none", pred: post.ID.In(), plan: "primary key"},
		{name: "id notIn", pred: post.ID.NotIn("p001", "p005")},
		{name: "id beginsWith", pred: post.ID.BeginsWith("p01"), plan: "primary key: 0 eq, beginsWith"},
		{name: "id beginsWith empty", pred: post.ID.BeginsWith(""), plan: "primary key: 0 eq, beginsWith"},
		{name: "id contains", pred: post.ID.Contains("5")},
		{name: "id notContains", pred: post.ID.NotContains("5")},
		{name: "id exists", pred: post.ID.Exists()},
		{name: "id notExists", pred: post.ID.NotExists()},
		// An index added for the hasMany relation Blog.posts.
		{name: "blog eq", pred: post.BlogPostsID.Eq("b"), plan: ix + "1 eq",
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && v == "b" }},
		{name: "blog eq NUL", pred: post.BlogPostsID.Eq("b\x00x"), plan: ix + "1 eq"},
		{name: "blog eq none", pred: post.BlogPostsID.Eq("zz"), plan: ix + "1 eq"},
		{name: "blog ne", pred: post.BlogPostsID.Ne("b"),
			want: func(p *blogm.Post) bool { v, ok := blog(p); return !ok || v != "b" }},
		{name: "blog gt", pred: post.BlogPostsID.Gt("b"), plan: ix + "0 eq, gt",
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && v > "b" }},
		{name: "blog ge", pred: post.BlogPostsID.Ge("ba"), plan: ix + "0 eq, ge"},
		{name: "blog lt", pred: post.BlogPostsID.Lt("ba"), plan: ix + "0 eq, lt",
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && v < "ba" }},
		{name: "blog le", pred: post.BlogPostsID.Le("b\x00x"), plan: ix + "0 eq, le"},
		{name: "blog between", pred: post.BlogPostsID.Between("b\x00", "bz"), plan: ix + "0 eq, between"},
		{name: "blog beginsWith", pred: post.BlogPostsID.BeginsWith("b"), plan: ix + "0 eq, beginsWith",
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && strings.HasPrefix(v, "b") }},
		{name: "blog beginsWith NUL", pred: post.BlogPostsID.BeginsWith("b\x00"), plan: ix + "0 eq, beginsWith"},
		{name: "blog in", pred: post.BlogPostsID.In("c", "b", "nope"), plan: ix + "0 eq, in",
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && (v == "c" || v == "b") }},
		{name: "blog notIn", pred: post.BlogPostsID.NotIn("c", "b"),
			want: func(p *blogm.Post) bool { v, ok := blog(p); return !ok || (v != "c" && v != "b") }},
		{name: "blog contains", pred: post.BlogPostsID.Contains("a"),
			want: func(p *blogm.Post) bool { v, ok := blog(p); return ok && strings.Contains(v, "a") }},
		{name: "blog notContains", pred: post.BlogPostsID.NotContains("a"),
			want: func(p *blogm.Post) bool { v, ok := blog(p); return !ok || !strings.Contains(v, "a") }},
		{name: "blog exists", pred: post.BlogPostsID.Exists(), want: func(p *blogm.Post) bool { _, ok := blog(p); return ok }},
		{name: "blog notExists", pred: post.BlogPostsID.NotExists(), want: func(p *blogm.Post) bool { _, ok := blog(p); return !ok }},
		{name: "blog eq and rating gt", pred: predicate.And(post.BlogPostsID.Eq("ba"), post.Rating.Gt(2)), plan: ix + "1 eq"},
		{name: "blog eq and id range", pred: predicate.And(post.ID.Lt("p100"), post.BlogPostsID.Eq("bé")), plan: ix + "1 eq"},
		{name: "blog eq and or", pred: predicate.And(post.BlogPostsID.Eq("c"), predicate.Or(post.Rating.NotExists(), post.Title.BeginsWith("al"))), plan: ix + "1 eq"},
		{name: "two blog eqs", pred: predicate.And(post.BlogPostsID.Eq("c"), post.BlogPostsID.Eq("b")), plan: ix + "1 eq"},
		{name: "blog in and range", pred: predicate.And(post.BlogPostsID.In("b", "ba", "c"), post.BlogPostsID.Ge("ba")), plan: ix + "0 eq"},
		// Rating: no index.
		{name: "rating eq", pred: post.Rating.Eq(3), plan: "scan", want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v == 3 }},
		{name: "rating ne", pred: post.Rating.Ne(3), want: func(p *blogm.Post) bool { v, ok := rating(p); return !ok || v != 3 }},
		{name: "rating gt", pred: post.Rating.Gt(2), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v > 2 }},
		{name: "rating ge", pred: post.Rating.Ge(2), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v >= 2 }},
		{name: "rating lt", pred: post.Rating.Lt(2), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v < 2 }},
		{name: "rating le min", pred: post.Rating.Le(math.MinInt32), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v <= math.MinInt32 }},
		{name: "rating between", pred: post.Rating.Between(0, 3), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && v >= 0 && v <= 3 }},
		{name: "rating in", pred: post.Rating.In(3, 5, 99), want: func(p *blogm.Post) bool { v, ok := rating(p); return ok && (v == 3 || v == 5) }},
		{name: "rating notIn", pred: post.Rating.NotIn(3, 5), want: func(p *blogm.Post) bool { v, ok := rating(p); return !ok || (v != 3 && v != 5) }},
		{name: "rating exists", pred: post.Rating.Exists()},
		{name: "rating notExists", pred: post.Rating.NotExists()},
		{name: "not rating gt", pred: predicate.Not(post.Rating.Gt(2)), want: func(p *blogm.Post) bool { v, ok := rating(p); return !ok || v <= 2 }},
		// Title: required String, with empty strings, NUL bytes and ties.
		{name: "title eq empty", pred: post.Title.Eq(""), want: func(p *blogm.Post) bool { return p.Title == "" }},
		{name: "title eq", pred: post.Title.Eq("alpha")},
		{name: "title gt", pred: post.Title.Gt("alpha")},
		{name: "title lt", pred: post.Title.Lt("alpha")},
		{name: "title between", pred: post.Title.Between("a", "b")},
		{name: "title beginsWith", pred: post.Title.BeginsWith("al"), want: func(p *blogm.Post) bool { return strings.HasPrefix(p.Title, "al") }},
		{name: "title beginsWith NUL", pred: post.Title.BeginsWith("a\x00")},
		{name: "title contains space", pred: post.Title.Contains(" "), want: func(p *blogm.Post) bool { return strings.Contains(p.Title, " ") }},
		{name: "title contains empty", pred: post.Title.Contains("")},
		{name: "title notContains", pred: post.Title.NotContains("ph")},
		{name: "title in", pred: post.Title.In("", "zeta", "ål")},
		{name: "title notIn", pred: post.Title.NotIn("", "zeta", "ål")},
		// Status: an enum, with nulls.
		{name: "status eq", pred: post.Status.Eq(blogm.PostStatusDraft), want: func(p *blogm.Post) bool { v, ok := status(p); return ok && v == blogm.PostStatusDraft }},
		{name: "status ne", pred: post.Status.Ne(blogm.PostStatusDraft), want: func(p *blogm.Post) bool { v, ok := status(p); return !ok || v != blogm.PostStatusDraft }},
		{name: "status gt", pred: post.Status.Gt(blogm.PostStatusDraft)},
		{name: "status in", pred: post.Status.In(blogm.PostStatusDraft, blogm.PostStatusPublished), want: func(p *blogm.Post) bool { _, ok := status(p); return ok }},
		{name: "status notIn", pred: post.Status.NotIn(blogm.PostStatusDraft), want: func(p *blogm.Post) bool { v, ok := status(p); return !ok || v != blogm.PostStatusDraft }},
		{name: "status beginsWith", pred: post.Status.BeginsWith("PUB")},
		{name: "status contains", pred: post.Status.Contains("RAF")},
		{name: "status notContains", pred: post.Status.NotContains("RAF"), want: func(p *blogm.Post) bool { v, ok := status(p); return !ok || v != blogm.PostStatusDraft }},
		{name: "status notExists", pred: post.Status.NotExists()},
		// Groups.
		{name: "and", pred: predicate.And(post.Rating.Ge(1), post.Status.Eq(blogm.PostStatusPublished), post.Title.BeginsWith("a"))},
		{name: "or", pred: predicate.Or(post.Rating.NotExists(), post.Status.NotExists(), post.ID.Eq("p003"))},
		{name: "not and", pred: predicate.Not(predicate.And(post.Rating.Ge(1), post.Status.Eq(blogm.PostStatusPublished)))},
		{name: "not or", pred: predicate.Not(predicate.Or(post.BlogPostsID.Eq("b"), post.Rating.Lt(0)))},
		{name: "nested", pred: predicate.Or(predicate.And(post.BlogPostsID.Eq("ba"), predicate.Not(post.Rating.Eq(3))), predicate.And(post.Status.Exists(), post.Title.Contains("a")))},
		{name: "empty and", pred: predicate.And[blogm.Post]()},
		{name: "empty or", pred: predicate.Or[blogm.Post]()},
		{name: "all", pred: predicate.All[blogm.Post]()},
	}
	checkCases(t, all, postKey, ds.Post.Query, cases)
}

// TestE2ENullSemantics pins down Amplify's null semantics on a small,
// hand-checked data set: one post per rating value and one with none.
func TestE2ENullSemantics(t *testing.T) {
	ctx := context.Background()
	ds := openBlog(t)
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "null", Title: "n"}))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "one", Title: "o", Rating: ptr(1), Status: ptr(blogm.PostStatusDraft)}))
	must(t, ds.Post.Save(ctx, &blogm.Post{ID: "two", Title: "t", Rating: ptr(2), Status: ptr(blogm.PostStatusPublished)}))
	for _, c := range []struct {
		pred predicate.Predicate[blogm.Post]
		want string
	}{
		{post.Rating.Eq(1), "one"},
		{post.Rating.Ne(1), "null two"},
		{post.Rating.Gt(0), "one two"},
		{post.Rating.Ge(0), "one two"},
		{post.Rating.Lt(3), "one two"},
		{post.Rating.Le(3), "one two"},
		{post.Rating.Between(-10, 10), "one two"},
		{post.Rating.In(1, 2), "one two"},
		{post.Rating.NotIn(1), "null two"},
		{post.Rating.Exists(), "one two"},
		{post.Rating.NotExists(), "null"},
		{predicate.Not(post.Rating.Gt(1)), "null one"},
		{post.Status.BeginsWith(""), "one two"},
		{post.Status.Contains(""), "one two"},
		{post.Status.NotContains("RAF"), "null two"},
		{post.BlogPostsID.Ne("x"), "null one two"},
		{post.BlogPostsID.NotIn("x"), "null one two"},
		{post.BlogPostsID.Eq("x"), ""},
		{post.BlogPostsID.BeginsWith(""), ""},
		{post.BlogPostsID.Lt("zzz"), ""},
		{post.BlogPostsID.NotContains("x"), "null one two"},
	} {
		got, err := ds.Post.Query().Where(c.pred).All(ctx)
		must(t, err)
		ids := sortedKeys(got, postKey)
		if strings.Join(ids, " ") != c.want {
			t.Errorf("where %s: got %q, want %q", c.pred, ids, c.want)
		}
	}
}

// seedSamples saves n samples with every AWS scalar, nulls and ties.
func seedSamples(t testing.TB, ds *scm.DataStore, n int, seed uint64) []*scm.Sample {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 11))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	maybe := func() bool { return rng.IntN(4) > 0 }
	var out []*scm.Sample
	err := ds.Batch(ctx, func(tx *scm.Tx) error {
		for i := range n {
			s := &scm.Sample{
				ID:   fmt.Sprintf("s%03d", i),
				Text: pick("", "a", "ab", "abc", "b", "B", "ü"),
				At: scalar.MustParseDateTime(pick("2024-01-01T00:00:00Z", "2024-01-01T02:00:00+02:00",
					"2023-12-31T23:59:59.999Z", "2024-06-30T12:00:00.5Z", "1970-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z")),
			}
			if maybe() {
				s.Count = ptr([]int{-3, 0, 1, 1, 7, math.MaxInt32}[rng.IntN(6)])
			}
			if maybe() {
				s.Ratio = ptr([]float64{-1.5, 0, math.Copysign(0, -1), 0.25, 0.25, 1e300}[rng.IntN(6)])
			}
			if maybe() {
				s.Ok = ptr(rng.IntN(2) == 0)
			}
			if maybe() {
				s.Day = ptr(scalar.MustParseDate(pick("2024-01-01", "2024-01-02", "2023-12-31", "2024-01-01+05:00", "2024-01-01Z")))
			}
			if maybe() {
				s.Clock = ptr(scalar.MustParseTime(pick("00:00", "12:30:00", "23:59:59.999", "12:30:00+01:00", "11:30:00Z")))
			}
			if maybe() {
				s.Epoch = ptr(scalar.Timestamp([]int64{-1, 0, 1700000000, 1700000000}[rng.IntN(4)]))
			}
			if maybe() {
				s.Contact = ptr(scalar.Email(pick("a@example.com", "b@example.com", "A@example.com")))
			}
			if maybe() {
				s.Homepage = ptr(scalar.URL(pick("https://example.com", "https://example.com/a", "http://x.org")))
			}
			if maybe() {
				s.Phone = ptr(scalar.Phone(pick("+1 555 0100", "+44 20 7946 0958", "555-0100")))
			}
			if maybe() {
				s.Peer = ptr(scalar.IPAddress(pick("10.0.0.1", "10.0.0.2", "::1", "192.168.0.0/16")))
			}
			if maybe() {
				s.Payload = ptr(scalar.MustParseJSON(pick(`{"a":1}`, `[1,2]`, `"s"`, `null`)))
			}
			if maybe() {
				for range rng.IntN(3) {
					s.Days = append(s.Days, scalar.MustParseDate(pick("2024-01-01", "2024-01-02", "2024-01-01Z")))
				}
				if s.Days == nil {
					s.Days = []scalar.Date{}
				}
			}
			if maybe() {
				for range rng.IntN(4) {
					if rng.IntN(5) == 0 {
						s.Counts = append(s.Counts, nil) // a null element
					} else {
						s.Counts = append(s.Counts, ptr(rng.IntN(4)))
					}
				}
				if s.Counts == nil {
					s.Counts = []*int{}
				}
			}
			if err := tx.Sample.Save(ctx, s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	must(t, err)
	return out
}

func TestE2EPredicatesScalars(t *testing.T) {
	ctx := context.Background()
	ds := openScalars(t)
	all := seedSamples(t, ds, 200, 2)
	key := func(s *scm.Sample) string { return s.ID }

	// Records read back equal the records saved, field by field.
	stored, err := ds.Sample.Query().All(ctx)
	must(t, err)
	if len(stored) != len(all) {
		t.Fatalf("stored %d samples, want %d", len(stored), len(all))
	}
	for i, s := range stored {
		if got, want := fmt.Sprintf("%+v", deref(s)), fmt.Sprintf("%+v", deref(all[i])); got != want {
			t.Errorf("sample %s read back as\n %s\nwant\n %s", s.ID, got, want)
		}
	}

	d := scalar.MustParseDate
	dt := scalar.MustParseDateTime
	tm := scalar.MustParseTime
	cases := []queryCase[scm.Sample]{
		{name: "text eq", pred: sample.Text.Eq("ab")},
		{name: "text beginsWith", pred: sample.Text.BeginsWith("a")},
		{name: "text gt", pred: sample.Text.Gt("a")},
		{name: "count eq", pred: sample.Count.Eq(1)},
		{name: "count ne", pred: sample.Count.Ne(1), want: func(s *scm.Sample) bool { return s.Count == nil || *s.Count != 1 }},
		{name: "count between", pred: sample.Count.Between(0, 7)},
		{name: "count gt", pred: sample.Count.Gt(-3)},
		{name: "count notIn", pred: sample.Count.NotIn(0, 1)},
		{name: "ratio eq zero", pred: sample.Ratio.Eq(0), want: func(s *scm.Sample) bool { return s.Ratio != nil && *s.Ratio == 0 }},
		{name: "ratio lt", pred: sample.Ratio.Lt(0.25)},
		{name: "ratio ge", pred: sample.Ratio.Ge(0.25)},
		{name: "ratio in", pred: sample.Ratio.In(-1.5, 1e300)},
		{name: "ok eq true", pred: sample.Ok.Eq(true), want: func(s *scm.Sample) bool { return s.Ok != nil && *s.Ok }},
		{name: "ok ne true", pred: sample.Ok.Ne(true), want: func(s *scm.Sample) bool { return s.Ok == nil || !*s.Ok }},
		{name: "ok notExists", pred: sample.Ok.NotExists()},
		{name: "day eq", pred: sample.Day.Eq(d("2024-01-01"))},
		{name: "day gt", pred: sample.Day.Gt(d("2024-01-01"))},
		{name: "day lt", pred: sample.Day.Lt(d("2024-01-01"))},
		{name: "day between", pred: sample.Day.Between(d("2023-12-31"), d("2024-01-01"))},
		{name: "day in", pred: sample.Day.In(d("2024-01-01Z"), d("2024-01-02"))},
		{name: "clock gt", pred: sample.Clock.Gt(tm("11:30:00Z"))},
		{name: "clock le", pred: sample.Clock.Le(tm("12:30:00"))},
		{name: "clock ne", pred: sample.Clock.Ne(tm("00:00"))},
		{name: "at eq", pred: sample.At.Eq(dt("2024-01-01T00:00:00Z"))},
		{name: "at ge", pred: sample.At.Ge(dt("2024-01-01T00:00:00Z"))},
		{name: "at lt", pred: sample.At.Lt(dt("2024-01-01T00:00:00Z")),
			// By instant; values denoting the same instant with another
			// text are ordered by text (scalar.DateTime.Compare).
			want: func(s *scm.Sample) bool {
				x := dt("2024-01-01T00:00:00Z")
				return s.At.Time().Before(x.Time()) || s.At.Time().Equal(x.Time()) && s.At.String() < x.String()
			}},
		{name: "at between", pred: sample.At.Between(dt("2023-12-31T23:59:59Z"), dt("2024-01-01T01:00:00+01:00"))},
		{name: "epoch gt", pred: sample.Epoch.Gt(0)},
		{name: "epoch eq", pred: sample.Epoch.Eq(1700000000)},
		{name: "contact eq", pred: sample.Contact.Eq("a@example.com")},
		{name: "contact beginsWith", pred: sample.Contact.BeginsWith("a@")},
		{name: "contact contains", pred: sample.Contact.Contains("example")},
		{name: "contact notContains", pred: sample.Contact.NotContains("a@"), want: func(s *scm.Sample) bool { return s.Contact == nil || !strings.Contains(string(*s.Contact), "a@") }},
		{name: "homepage beginsWith", pred: sample.Homepage.BeginsWith("https://")},
		{name: "homepage in", pred: sample.Homepage.In("http://x.org", "https://example.com")},
		{name: "phone ne", pred: sample.Phone.Ne("555-0100")},
		{name: "peer contains", pred: sample.Peer.Contains(":")},
		{name: "peer exists", pred: sample.Peer.Exists()},
		{name: "days contains", pred: sample.Days.Contains(d("2024-01-01")), want: func(s *scm.Sample) bool { return slices.Contains(s.Days, d("2024-01-01")) }},
		{name: "days notContains", pred: sample.Days.NotContains(d("2024-01-02")), want: func(s *scm.Sample) bool { return !slices.Contains(s.Days, d("2024-01-02")) }},
		{name: "days exists", pred: sample.Days.Exists(), want: func(s *scm.Sample) bool { return s.Days != nil }},
		{name: "days notExists", pred: sample.Days.NotExists(), want: func(s *scm.Sample) bool { return s.Days == nil }},
		{name: "counts contains", pred: sample.Counts.Contains(2)},
		{name: "counts notContains", pred: sample.Counts.NotContains(2)},
		{name: "mixed", pred: predicate.Or(predicate.And(sample.Count.Exists(), sample.Ratio.NotExists()), predicate.Not(sample.Days.Contains(d("2024-01-01"))))},
	}
	checkCases(t, all, key, ds.Sample.Query, cases)
}

// derefAll returns the values of a list of nullable elements, nil for
// null ones.
func derefAll[T any](ps []*T) []any {
	if ps == nil {
		return nil
	}
	out := make([]any, len(ps))
	for i, p := range ps {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}

// deref renders a sample with its pointers followed, for comparisons.
func deref(s *scm.Sample) map[string]any {
	m := map[string]any{"id": s.ID, "text": s.Text, "at": s.At.String(), "days": s.Days, "counts": fmt.Sprint(derefAll(s.Counts))}
	add := func(name string, ok bool, v func() any) {
		if ok {
			m[name] = v()
		}
	}
	add("count", s.Count != nil, func() any { return *s.Count })
	add("ratio", s.Ratio != nil, func() any { return math.Float64bits(*s.Ratio) })
	add("ok", s.Ok != nil, func() any { return *s.Ok })
	add("day", s.Day != nil, func() any { return s.Day.String() })
	add("clock", s.Clock != nil, func() any { return s.Clock.String() })
	add("epoch", s.Epoch != nil, func() any { return *s.Epoch })
	add("contact", s.Contact != nil, func() any { return *s.Contact })
	add("homepage", s.Homepage != nil, func() any { return *s.Homepage })
	add("phone", s.Phone != nil, func() any { return *s.Phone })
	add("peer", s.Peer != nil, func() any { return *s.Peer })
	add("payload", s.Payload != nil, func() any { return string(*s.Payload) })
	return m
}

// TestE2EPredicatesIndexWithSortKey covers the @index byAuthor(authorId,
// title): the partition key alone, then ranges on the sort key.
func TestE2EPredicatesIndexWithSortKey(t *testing.T) {
	ctx := context.Background()
	ds := openRelations(t)
	rng := rand.New(rand.NewPCG(3, 3))
	authors := []string{"a1", "a2", "a10", "a1\x00"}
	for _, a := range authors {
		must(t, ds.Author.Save(ctx, &relm.Author{ID: a, Name: "author " + a}))
	}
	titles := []string{"", "A", "Go", "Go in action", "Gopher", "go", "Z", "Zen", "Go"}
	var all []*relm.Book
	for i := range 150 {
		b := &relm.Book{ID: fmt.Sprintf("k%03d", i), Title: titles[rng.IntN(len(titles))], AuthorID: authors[rng.IntN(len(authors))]}
		must(t, ds.Book.Save(ctx, b))
		all = append(all, b)
	}
	key := func(b *relm.Book) string { return b.ID }
	const ix = "index byAuthor: "
	cases := []queryCase[relm.Book]{
		{name: "author eq", pred: book.AuthorID.Eq("a1"), plan: ix + "1 eq"},
		{name: "author eq NUL", pred: book.AuthorID.Eq("a1\x00"), plan: ix + "1 eq"},
		{name: "author+title eq", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.Eq("Go")), plan: ix + "2 eq"},
		{name: "author+title eq empty", pred: predicate.And(book.AuthorID.Eq("a2"), book.Title.Eq("")), plan: ix + "2 eq"},
		{name: "title beginsWith", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.BeginsWith("Go")), plan: ix + "1 eq, beginsWith"},
		{name: "title gt", pred: predicate.And(book.AuthorID.Eq("a2"), book.Title.Gt("Go")), plan: ix + "1 eq, gt"},
		{name: "title ge", pred: predicate.And(book.AuthorID.Eq("a2"), book.Title.Ge("Go")), plan: ix + "1 eq, ge"},
		{name: "title lt", pred: predicate.And(book.AuthorID.Eq("a10"), book.Title.Lt("Go")), plan: ix + "1 eq, lt"},
		{name: "title le", pred: predicate.And(book.AuthorID.Eq("a10"), book.Title.Le("Go")), plan: ix + "1 eq, le"},
		{name: "title lt empty", pred: predicate.And(book.AuthorID.Eq("a10"), book.Title.Lt("")), plan: ix + "1 eq, lt"},
		{name: "title between", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.Between("A", "Gopher")), plan: ix + "1 eq, between"},
		{name: "title in", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.In("Z", "", "Go")), plan: ix + "1 eq, in"},
		{name: "title range+in", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.In("Z", "", "Go"), book.Title.Gt("")), plan: ix + "1 eq"},
		{name: "title ne", pred: predicate.And(book.AuthorID.Eq("a1"), book.Title.Ne("Go")), plan: ix + "1 eq"},
		{name: "author in", pred: book.AuthorID.In("a10", "a2"), plan: ix + "0 eq, in"},
		{name: "author beginsWith", pred: book.AuthorID.BeginsWith("a1"), plan: ix + "0 eq, beginsWith"},
		{name: "author gt", pred: book.AuthorID.Gt("a1"), plan: ix + "0 eq, gt"},
		{name: "title only", pred: book.Title.Eq("Go"), plan: "scan"},
		{name: "author or", pred: predicate.Or(book.AuthorID.Eq("a1"), book.AuthorID.Eq("a2")), plan: "scan"},
	}
	checkCases(t, all, key, ds.Book.Query, cases)

	// The generated QueryByAuthor uses the index too.
	q := ds.Book.QueryByAuthor("a2").Where(book.Title.BeginsWith("G"))
	if p := q.Plan(); !strings.HasPrefix(p, ix+"1 eq, beginsWith") {
		t.Errorf("QueryByAuthor plan %q", p)
	}
	got, err := q.All(ctx)
	must(t, err)
	want := bruteForce(all, predicate.And(book.AuthorID.Eq("a2"), book.Title.BeginsWith("G")), func(a, b *relm.Book) int { return strings.Compare(a.ID, b.ID) })
	if d := diffKeys(sortedKeys(got, key), sortedKeys(want, key)); d != "" {
		t.Errorf("QueryByAuthor: %s", d)
	}
	// Without an order, an index query returns the index order: title,
	// then id.
	sorted := slices.Clone(want)
	slices.SortStableFunc(sorted, func(a, b *relm.Book) int {
		if c := strings.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if d := diffKeys(keysOf(got, key), keysOf(sorted, key)); d != "" {
		t.Errorf("QueryByAuthor order: %s", d)
	}
	_ = datastore.ErrNotFound
}
