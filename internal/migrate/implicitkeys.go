package migrate

import (
	"slices"
	"strings"

	"github.com/dsgen/dsgen/runtime/meta"
)

// Implicit foreign keys of one relation under another name.
//
// An implicit foreign key is named after one end of its relation,
// <model><Field>Id, and which end depends on how the relation is declared:
// a transformer v1 @connection(name: "PostComments") pair names Comment's
// key after Comment.post (commentPostId), while the equivalent v2
// @hasMany/@belongsTo pair names it after Post.comments (postCommentsId).
// Both hold the same value, the related Post's id, so when a schema moves
// from one form to the other the locked key is matched to the new one and
// planned as a rename: local records and unsent mutations keep the value.
// (Unnamed @connection fields and named one-to-one pairs already use the
// names v2 gives them, so only the named one-to-many form changes name.)

// matchImplicitKeys pairs each implicit foreign key of m that fm left
// unmatched with the locked field, not matched otherwise, that is named
// after another end of the same relation and has the same stored type.
func matchImplicitKeys(s *meta.Schema, m *meta.Model, prev []*FieldLock, fm fieldMatch) {
	used := map[*FieldLock]bool{}
	for _, old := range fm {
		used[old] = true
	}
	for _, f := range m.Fields {
		if !f.Implicit || !f.Stored() || f.IsList || fm[f.Name] != nil {
			continue
		}
		for _, name := range keyOwnerNames(s, m, f.Name) {
			old := findField(prev, name)
			if old == nil || used[old] || old.RenamedTo != "" || m.Field(name) != nil ||
				old.Type != f.Type || old.Kind != f.Kind.String() || old.List {
				continue
			}
			fm[f.Name], used[old] = old, true
			break
		}
	}
}

// keyOwnerNames returns the implicit names, <model><Field>Id, that each
// relation field holding key (a field of m) as a foreign key would give it:
// m's own belongs-to and has-one fields whose Keys hold it, and has-many
// (or has-one with references) fields of any model whose RelatedKeys hold
// it on m.
func keyOwnerNames(s *meta.Schema, m *meta.Model, key string) []string {
	var out []string
	for _, o := range s.Models {
		for _, r := range o.Fields {
			rel := r.Relation
			if rel == nil {
				continue
			}
			if (o == m && slices.Contains(rel.Keys, key) && rel.Kind != meta.HasMany) ||
				(rel.Model == m.Name && slices.Contains(rel.RelatedKeys, key) && (rel.Kind == meta.HasMany || rel.References)) {
				if n := implicitKeyName(o.Name, r.Name); n != key && !slices.Contains(out, n) {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// implicitKeyName is the name Amplify's transformers give the implicit
// foreign key of model.field: lowerFirst(model) + upperFirst(field) + "Id".
func implicitKeyName(model, field string) string {
	return strings.ToLower(model[:1]) + model[1:] + strings.ToUpper(field[:1]) + field[1:] + "Id"
}
