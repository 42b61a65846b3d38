package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/dsgen/dsgen/runtime/meta"
)

// storedKinds maps the kind names a lock records (meta.TypeKind.String) to
// the kinds of stored fields; relation fields (model) are never locked.
var storedKinds = map[string]meta.TypeKind{
	meta.KindScalar.String():   meta.KindScalar,
	meta.KindEnum.String():     meta.KindEnum,
	meta.KindNonModel.String(): meta.KindNonModel,
}

// meta returns the locked field as metadata, its Number the lock id: how
// the values stored under it read.
func (f *FieldLock) meta() *meta.Field {
	return &meta.Field{Name: f.Name, Number: f.ID, Type: f.Type, Kind: storedKinds[f.Kind],
		Required: f.Required, IsList: f.List, ListRequired: f.ListRequired}
}

// lockOf is the inverse of FieldLock.meta, for the migration file.
func lockOf(f *meta.Field) *FieldLock {
	if f == nil {
		return nil
	}
	fl := lockField(f)
	fl.ID = f.Number
	return fl
}

// Apply gives the stored fields of s's models and non-model types their
// lock ids as meta.Field.Number, and sets s.Migration to the lock's last
// migration number, so generated code reads and writes the fields under the
// ids the store holds them by. A field whose id is its position number
// (1 + its index) keeps Number 0, which means exactly that: a schema whose
// lock is its first generates the same code as before it was locked.
// Relation fields are not stored and keep 0.
//
// Apply is for a lock that matches s (Diff finds no step): a model, type or
// stored field that one of them has and the other lacks is an error naming
// it, and s is left unchanged.
func (l *Lock) Apply(s *meta.Schema) error {
	type assign struct {
		f  *meta.Field
		id int
	}
	var todo []assign
	var errs []error
	fields := func(owner string, fs []*meta.Field, locked []*FieldLock) {
		seen := map[*FieldLock]bool{}
		for i, f := range fs {
			if !f.Stored() {
				continue
			}
			fl := findField(locked, f.Name)
			if fl == nil {
				errs = append(errs, fmt.Errorf("field %s.%s is not in the lock", owner, f.Name))
				continue
			}
			seen[fl] = true
			id := fl.ID
			if id == i+1 {
				id = 0
			}
			todo = append(todo, assign{f, id})
		}
		for _, fl := range locked {
			if !seen[fl] {
				errs = append(errs, fmt.Errorf("the lock has field %s.%s, the schema does not", owner, fl.Name))
			}
		}
	}
	models := map[string]bool{}
	for _, m := range s.Models {
		models[m.Name] = true
		ml := l.Model(m.Name)
		if ml == nil {
			errs = append(errs, fmt.Errorf("model %s is not in the lock", m.Name))
			continue
		}
		fields(m.Name, m.Fields, ml.Fields)
	}
	for _, ml := range l.Models {
		if !models[ml.Name] {
			errs = append(errs, fmt.Errorf("the lock has model %s, the schema does not", ml.Name))
		}
	}
	types := map[string]bool{}
	for _, n := range s.NonModels {
		types[n.Name] = true
		tl := l.nonModel(n.Name)
		if tl == nil {
			errs = append(errs, fmt.Errorf("non-model type %s is not in the lock", n.Name))
			continue
		}
		fields(n.Name, n.Fields, tl.Fields)
	}
	for _, tl := range l.NonModels {
		if !types[tl.Name] {
			errs = append(errs, fmt.Errorf("the lock has non-model type %s, the schema does not", tl.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("lock does not match the schema (run dsgen migrate): %w", errors.Join(errs...))
	}
	for _, a := range todo {
		a.f.Number = a.id
	}
	s.Migration = l.Migration
	return nil
}

// LoadMigrations reads the migration files of dir numbered 1 to upTo (the
// lock's Migration) and returns them oldest first as metadata, with Func set
// on the steps that need developer code. Every number must have exactly one
// file, each file must hold its number and follow on from the one before
// (its From is the previous To); a file numbered past upTo, which the lock
// does not know, is an error too. Errors name the file.
func LoadMigrations(dir string, upTo int) ([]*meta.Migration, error) {
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // a missing dir is missing files, below
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	files := map[int][]string{}
	for _, e := range ents {
		if m := fileName.FindStringSubmatch(e.Name()); m != nil && !e.IsDir() {
			n := number(m[1])
			files[n] = append(files[n], filepath.Join(dir, e.Name()))
		}
	}
	nums := make([]int, 0, len(files))
	for n := range files {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		switch {
		case len(files[n]) > 1:
			return nil, fmt.Errorf("read migrations: %s: %d files share number %d", joinPaths(files[n]), len(files[n]), n)
		case n < 1 || n > upTo:
			return nil, fmt.Errorf("read migrations: %s: number %d is not between 1 and the lock's last migration %d (was the lock not updated?)", files[n][0], n, upTo)
		}
	}
	var out []*meta.Migration
	for n := 1; n <= upTo; n++ {
		if len(files[n]) == 0 {
			return nil, fmt.Errorf("read migrations: no migration %04d in %s (the lock's last migration is %d)", n, dir, upTo)
		}
		path := files[n][0]
		mg, err := readMigration(path)
		if err != nil {
			return nil, err
		}
		if mg.Number != n {
			return nil, fmt.Errorf("read migration %s: number %d in a file named %04d", path, mg.Number, n)
		}
		if len(out) > 0 && out[len(out)-1].To != mg.From {
			return nil, fmt.Errorf("read migration %s: from version %s, but migration %d ends at %s", path, mg.From, n-1, out[len(out)-1].To)
		}
		m := &meta.Migration{Number: mg.Number, From: mg.From, To: mg.To}
		for i := range mg.Steps {
			st := mg.Steps[i]
			if st.Effect == meta.NeedsCode && st.Func == "" {
				return nil, fmt.Errorf("read migration %s: step %d (%s) needs code but names no func", path, i+1, st)
			}
			m.Steps = append(m.Steps, &st)
		}
		out = append(out, m)
	}
	return out, nil
}

func joinPaths(ps []string) string {
	ps = slices.Clone(ps)
	sort.Strings(ps)
	out := ps[0]
	for _, p := range ps[1:] {
		out += ", " + p
	}
	return out
}
