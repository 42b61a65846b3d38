package store_test

import (
	"context"
	"testing"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/internal/serve/store/pgtest"
)

// engine opens stores of one engine for the shared behavioural suite.
type engine struct {
	name string
	// openRaw opens a store with o: Badger as o says; PostgreSQL in a
	// schema of its own, the same one for the same o.Dir in one test (so
	// a reopen finds its data), a fresh one when o.Dir is empty.
	openRaw func(t *testing.T, o store.Options) (store.Store, error)
}

var engines = []engine{
	{"badger", func(t *testing.T, o store.Options) (store.Store, error) {
		return store.Open(context.Background(), o)
	}},
	{"postgres", func(t *testing.T, o store.Options) (store.Store, error) {
		u := pgtest.Schema
		if o.Dir != "" {
			dir := o.Dir
			u = func(t testing.TB) string { return pgtest.SchemaFor(t, t.Name()+dir) }
		}
		url := u(t)
		o.Dir, o.InMemory = "", false
		return store.OpenPostgres(context.Background(), url, o)
	}},
}

// forEngines runs test once per engine, as a subtest named after it.
func forEngines(t *testing.T, test func(*testing.T, engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { test(t, e) })
	}
}

// open opens a store closed when t ends.
func (e engine) open(t *testing.T, o store.Options) store.Store {
	t.Helper()
	s, err := e.openRaw(t, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// openDisk is a durable store (Badger on disk, PostgreSQL).
func (e engine) openDisk(t *testing.T, c *clock) store.Store {
	return e.open(t, store.Options{Dir: t.TempDir(), Now: c.Now})
}

// openMem is the fastest store of the engine.
func (e engine) openMem(t *testing.T, c *clock) store.Store {
	return e.open(t, store.Options{InMemory: true, Now: c.Now})
}
