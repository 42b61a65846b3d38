package meta

// RelationKeys returns how relational field f of model m joins its related
// model: records of the related model whose to fields equal m's from fields
// (pairwise) are the related records. It returns nil slices when f is not
// relational.
//
// Amplify's associatedWith sometimes names a @belongsTo field of the related
// model rather than key fields; RelationKeys resolves that to the belongsTo's
// target fields, so callers always get stored key fields.
//
// Relations built by internal/schema carry the resolved pairs in
// Relation.Keys and Relation.RelatedKeys, which RelationKeys returns; the
// derivation below serves Relation values built without them.
func (s *Schema) RelationKeys(m *Model, f *Field) (from, to []string) {
	r := f.Relation
	if r == nil {
		return nil, nil
	}
	if len(r.Keys) > 0 && len(r.Keys) == len(r.RelatedKeys) {
		return r.Keys, r.RelatedKeys
	}
	rel := s.Model(r.Model)
	if rel == nil {
		return nil, nil
	}
	switch r.Kind {
	case BelongsTo:
		from, to = r.TargetNames, rel.PrimaryKey.Fields()
	case HasOne:
		if r.References {
			from, to = m.PrimaryKey.Fields(), r.AssociatedWith
		} else {
			from, to = r.TargetNames, r.AssociatedWith
		}
	case HasMany:
		from = m.PrimaryKey.Fields()
		switch ix := rel.Index(r.IndexName); {
		case ix != nil:
			to = ix.Fields
		case len(r.AssociatedWith) == 1 && rel.Field(r.AssociatedWith[0]) != nil &&
			rel.Field(r.AssociatedWith[0]).Relation != nil:
			to = rel.Field(r.AssociatedWith[0]).Relation.TargetNames
		default:
			to = r.AssociatedWith
		}
	}
	n := min(len(from), len(to))
	return from[:n], to[:n]
}
