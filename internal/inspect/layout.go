package inspect

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/storage"
)

// The settings runtime/datastore keeps (datastore.go, migrate.go).
const (
	settingLayout        = "layout"
	settingSchemaVersion = "schemaVersion"
	settingMigration     = "migration"
	settingMigrating     = "migrating"
)

// layoutField is one field of the stored layout: the fields of every model
// (and, keyed "nonModel:Name", non-model type) in codec field order.
type layoutField struct {
	Name, Type string
	List       bool
}

// SchemaFromStore builds the schema the store's records can be read with
// from the stored layout: every model's and non-model type's fields with
// their types, in codec field order. Field numbers are positions (1 + the
// index), which is what they are until a migration drops or reorders a
// field; after one, give the schema (and its lock) instead. Types that are
// neither scalars, models nor non-model types are enums (stored as their
// names). Keys, indexes and relations are not in the layout.
func SchemaFromStore(db *storage.DB) (*meta.Schema, error) {
	var raw []byte
	err := db.View(func(txn storage.Txn) error {
		var err error
		raw, err = get(txn, storage.SettingKey(settingLayout))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inspect: read the stored layout: %w", err)
	}
	if raw == nil {
		return nil, errors.New("inspect: the store holds no layout (it was never started by generated code): give the schema with --schema")
	}
	var shape map[string][]layoutField
	if err := json.Unmarshal(raw, &shape); err != nil {
		return nil, fmt.Errorf("inspect: the stored layout is damaged: %w; give the schema with --schema", err)
	}
	names := make([]string, 0, len(shape))
	for n := range shape {
		names = append(names, n)
	}
	sort.Strings(names)
	models, nonModels := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		if t, ok := strings.CutPrefix(n, "nonModel:"); ok {
			nonModels[t] = true
		} else {
			models[n] = true
		}
	}
	kind := func(typ string) meta.TypeKind {
		switch {
		case models[typ]:
			return meta.KindModel
		case nonModels[typ]:
			return meta.KindNonModel
		case slices.Contains(meta.Scalars(), typ):
			return meta.KindScalar
		}
		return meta.KindEnum
	}
	fields := func(lf []layoutField) []*meta.Field {
		out := make([]*meta.Field, len(lf))
		for i, f := range lf {
			out[i] = &meta.Field{Name: f.Name, Type: f.Type, IsList: f.List, Kind: kind(f.Type)}
		}
		return out
	}
	s := &meta.Schema{}
	for _, n := range names {
		if t, ok := strings.CutPrefix(n, "nonModel:"); ok {
			s.NonModels = append(s.NonModels, &meta.NonModel{Name: t, Fields: fields(shape[n])})
			continue
		}
		s.Models = append(s.Models, &meta.Model{Name: n, Fields: fields(shape[n])})
	}
	return s, nil
}

func get(txn storage.Txn, key []byte) ([]byte, error) {
	b, err := txn.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return b, err
}
