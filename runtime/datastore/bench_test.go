package datastore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/dsgen/dsgen/examples/blog/model"
	"github.com/dsgen/dsgen/examples/blog/model/post"
	"github.com/dsgen/dsgen/runtime/codec"
	"github.com/dsgen/dsgen/runtime/datastore"
	"github.com/dsgen/dsgen/runtime/predicate"
	"github.com/dsgen/dsgen/runtime/scalar"
	"github.com/dsgen/dsgen/runtime/storage"
)

// The benchmarks compare each DataStore operation with raw Badger doing the
// same work in the same run (see BENCHMARKS.md). Every store is on disk in
// a temporary directory, with default options.

func openBench(b *testing.B) *model.DataStore {
	b.Helper()
	ctx := context.Background()
	ds, err := model.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ds.Close(ctx) })
	if err := ds.Start(ctx); err != nil {
		b.Fatal(err)
	}
	return ds
}

func openRaw(b *testing.B) *badger.DB {
	b.Helper()
	db, err := storage.Open(context.Background(), b.TempDir(), storage.Options{GCInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db.Badger()
}

// benchPost returns the i-th post of the benchmark data set: ~120 bytes,
// ratings 0-9, titles starting with letters A-Z, 100 blogs.
func benchPost(i int, blogs []string) *model.Post {
	p := &model.Post{
		ID:     fmt.Sprintf("post-%08d", i),
		Title:  fmt.Sprintf("%c post number %d about offline sync", 'A'+rune(i%26), i),
		Rating: ptr(i % 10),
		Status: ptr(model.PostStatusPublished),
	}
	if len(blogs) > 0 {
		p.BlogPostsID = &blogs[i%len(blogs)]
	}
	return p
}

// stampedPost is benchPost with createdAt and updatedAt set to now, as the
// store writes it: the raw baselines store the same record bytes.
func stampedPost(i int, blogs []string) *model.Post {
	p := benchPost(i, blogs)
	now := scalar.NewDateTime(time.Now())
	p.CreatedAt, p.UpdatedAt = &now, &now
	return p
}

// fill saves n posts spread over nBlogs blogs, in batches.
func fill(b *testing.B, ds *model.DataStore, n, nBlogs int) []string {
	b.Helper()
	ctx := context.Background()
	var blogs []string
	err := ds.Batch(ctx, func(tx *model.Tx) error {
		for i := range nBlogs {
			bl := &model.Blog{ID: fmt.Sprintf("blog-%04d", i), Name: "blog"}
			if err := tx.Blog.Save(ctx, bl); err != nil {
				return err
			}
			blogs = append(blogs, bl.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 1000 {
		err := ds.Batch(ctx, func(tx *model.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				if err := tx.Post.Save(ctx, benchPost(i, blogs)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return blogs
}

// postModel returns the generated description of Post, whose codec the raw
// baselines use so that they store the same bytes.
func postModel(b *testing.B) *datastore.Model[model.Post] {
	b.Helper()
	ds, err := model.Open(context.Background(), "", datastore.InMemory())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ds.Close(context.Background()) })
	return ds.Post.Repo().Model()
}

// encodePost encodes p as the store does.
func encodePost(m *datastore.Model[model.Post], p *model.Post) []byte {
	var e codec.Encoder
	e.Reset(nil)
	m.Encode(&e, p)
	return e.Bytes()
}

func BenchmarkSave(b *testing.B) {
	ctx := context.Background()
	b.Run("dsgen", func(b *testing.B) {
		ds := openBench(b)
		blogs := fill(b, ds, 0, 10)
		b.ResetTimer()
		for i := range b.N {
			if err := ds.Post.Save(ctx, benchPost(i, blogs)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("badger", func(b *testing.B) {
		// The same record bytes (timestamps included) and index entry,
		// one transaction each.
		db := openRaw(b)
		m := postModel(b)
		blogs := []string{"blog-0000"}
		b.ResetTimer()
		for i := range b.N {
			p := stampedPost(i, blogs)
			data := encodePost(m, p)
			key := storage.AppendString(storage.RecordPrefix(3), p.ID)
			ix := storage.AppendString(storage.AppendString(storage.IndexPrefix(3, 1), *p.BlogPostsID), p.ID)
			err := db.Update(func(txn *badger.Txn) error {
				if err := txn.Set(ix, nil); err != nil {
					return err
				}
				return txn.Set(key, data)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	const n = 10_000
	b.Run("dsgen", func(b *testing.B) {
		ds := openBench(b)
		fill(b, ds, n, 10)
		b.ResetTimer()
		for i := range b.N {
			if _, err := ds.Post.Get(ctx, fmt.Sprintf("post-%08d", i%n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, enc := range []string{"codec", "json"} {
		b.Run("badger+"+enc, func(b *testing.B) {
			db := openRaw(b)
			m := postModel(b)
			rawFill(b, db, m, n, enc)
			b.ResetTimer()
			for i := range b.N {
				key := storage.AppendString(storage.RecordPrefix(3), fmt.Sprintf("post-%08d", i%n))
				err := db.View(func(txn *badger.Txn) error {
					item, err := txn.Get(key)
					if err != nil {
						return err
					}
					return item.Value(func(v []byte) error { _, err := rawDecode(m, v, enc); return err })
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawFill writes n posts to a raw Badger store, encoded with enc: the
// records the store would hold (timestamps included), each with its index
// entry, so that both stores hold the same keys.
func rawFill(b *testing.B, db *badger.DB, m *datastore.Model[model.Post], n int, enc string) {
	b.Helper()
	wb := db.NewWriteBatch()
	blogs := []string{"blog-0000"}
	for i := range n {
		p := stampedPost(i, blogs)
		data := encodePost(m, p)
		if enc == "json" {
			data, _ = json.Marshal(p)
		}
		if err := wb.Set(storage.AppendString(storage.RecordPrefix(3), p.ID), data); err != nil {
			b.Fatal(err)
		}
		ix := storage.AppendString(storage.AppendString(storage.IndexPrefix(3, 1), *p.BlogPostsID), p.ID)
		if err := wb.Set(ix, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
}

func rawDecode(m *datastore.Model[model.Post], v []byte, enc string) (*model.Post, error) {
	p := new(model.Post)
	if enc == "json" {
		return p, json.Unmarshal(v, p)
	}
	var d codec.Decoder
	d.Reset(v)
	return p, m.Decode(&d, p)
}

func BenchmarkQueryAll(b *testing.B) {
	ctx := context.Background()
	const n = 10_000
	b.Run("dsgen", func(b *testing.B) {
		ds := openBench(b)
		fill(b, ds, n, 10)
		b.ResetTimer()
		for range b.N {
			items, err := ds.Post.Query().All(ctx)
			if err != nil || len(items) != n {
				b.Fatal(len(items), err)
			}
		}
	})
	b.Run("badger+json", func(b *testing.B) {
		db := openRaw(b)
		m := postModel(b)
		rawFill(b, db, m, n, "json")
		b.ResetTimer()
		for range b.N {
			var items []*model.Post
			err := db.View(func(txn *badger.Txn) error {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: storage.RecordPrefix(3), PrefetchValues: false})
				defer it.Close()
				for it.Rewind(); it.Valid(); it.Next() {
					err := it.Item().Value(func(v []byte) error {
						p, err := rawDecode(m, v, "json")
						items = append(items, p)
						return err
					})
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil || len(items) != n {
				b.Fatal(len(items), err)
			}
		}
	})
}

// BenchmarkIndexedQuery selects 1% of 100,000 posts (one blog of 100) by
// the blog foreign key, which the store indexes, and by the same predicate
// written so that no index applies (a scan).
func BenchmarkIndexedQuery(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	ds := openBench(b)
	blogs := fill(b, ds, n, 100)
	for _, c := range []struct {
		name string
		p    predicate.Predicate[model.Post]
	}{
		{"index", post.BlogPostsID.Eq(blogs[7])},
		{"scan", predicate.Not(post.BlogPostsID.Ne(blogs[7]))},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				items, err := ds.Post.Query().Where(c.p).All(ctx)
				if err != nil || len(items) != n/100 {
					b.Fatal(len(items), err)
				}
			}
		})
	}
}

// BenchmarkSortedLimit is Amplify's "sorted by rating, limit 100".
func BenchmarkSortedLimit(b *testing.B) {
	ctx := context.Background()
	ds := openBench(b)
	fill(b, ds, 10_000, 10)
	b.ResetTimer()
	for range b.N {
		items, err := ds.Post.Query().Order(post.Rating.Desc()).Limit(100).All(ctx)
		if err != nil || len(items) != 100 {
			b.Fatal(len(items), err)
		}
	}
}

// BenchmarkPredicateQuery is Amplify's `rating > 3 && title beginsWith "T"`.
func BenchmarkPredicateQuery(b *testing.B) {
	ctx := context.Background()
	ds := openBench(b)
	fill(b, ds, 10_000, 10)
	b.ResetTimer()
	for range b.N {
		if _, err := ds.Post.Query().Where(post.Rating.Gt(3), post.Title.BeginsWith("T")).All(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	const n = 10_000
	ds := openBench(b)
	blogs := fill(b, ds, n, 10)
	b.ResetTimer()
	for i := range b.N {
		p := benchPost(i%n, blogs)
		p.Rating = ptr(i)
		if err := ds.Post.Save(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDelete(b *testing.B) {
	ctx := context.Background()
	ds := openBench(b)
	blogs := fill(b, ds, 0, 10)
	for i := range b.N {
		b.StopTimer()
		p := benchPost(i, blogs)
		if err := ds.Post.Save(ctx, p); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := ds.Post.Delete(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkObserve measures the time from the start of a save to the
// delivery of its change to an Observe channel, and reports the median.
func BenchmarkObserve(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ds := openBench(b)
	blogs := fill(b, ds, 0, 10)
	changes := ds.Post.Observe(ctx)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := ds.Post.Save(ctx, benchPost(i, blogs)); err != nil {
			b.Fatal(err)
		}
		<-changes
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "µs-median")
}

// BenchmarkBatchSave saves posts in batches of 1,000 (per-save cost).
func BenchmarkBatchSave(b *testing.B) {
	ctx := context.Background()
	ds := openBench(b)
	blogs := fill(b, ds, 0, 10)
	b.ResetTimer()
	for start := 0; start < b.N; start += 1000 {
		err := ds.Batch(ctx, func(tx *model.Tx) error {
			for i := start; i < min(start+1000, b.N); i++ {
				if err := tx.Post.Save(ctx, benchPost(i, blogs)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCascadeDelete deletes a blog with n posts, a third of them with a
// comment, and reports the time per post: it stays flat across sizes while
// the cascade is linear (it was quadratic once; see TestE2ELargeCascade).
// Up to 2,000 posts the cascade is one transaction; 10,000 is past Badger's
// limit (about 4,300 posts on the laptop preset without an outbox), so it
// runs in chunks after one attempt that did not fit.
func BenchmarkCascadeDelete(b *testing.B) {
	for _, n := range []int{500, 1000, 2000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			ds := openBench(b)
			for i := range b.N {
				b.StopTimer()
				blog := fmt.Sprint("b", i)
				if err := ds.Blog.Save(ctx, &model.Blog{ID: blog, Name: "big"}); err != nil {
					b.Fatal(err)
				}
				for j := 0; j < n; j += 500 {
					err := ds.Batch(ctx, func(tx *model.Tx) error {
						for k := j; k < min(j+500, n); k++ {
							id := fmt.Sprint(blog, "p", k)
							if err := tx.Post.Save(ctx, &model.Post{ID: id, Title: "t", BlogPostsID: &blog}); err != nil {
								return err
							}
							if k%3 == 0 {
								if err := tx.Comment.Save(ctx, &model.Comment{ID: "c" + id, Content: "c", PostCommentsID: &id}); err != nil {
									return err
								}
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := ds.Blog.DeleteKey(ctx, blog); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/post")
		})
	}
}
