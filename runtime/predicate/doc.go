// Package predicate builds typed query predicates and sort orders for models.
//
// Generated model packages declare one field handle per model field:
//
//	var (
//		ID     = predicate.String[model.Post]("id", func(p *model.Post) (string, bool) { return p.ID, true })
//		Rating = predicate.Ordered[model.Post]("rating", func(p *model.Post) (int, bool) { ... })
//		Tags   = predicate.List[model.Post]("tags", func(p *model.Post) []string { return p.Tags })
//	)
//
// and programs combine the handles' operators:
//
//	predicate.And(post.Rating.Gt(3), post.Title.BeginsWith("T"))
//	predicate.Or(post.Rating.Lt(2), predicate.Not(post.Status.Eq(model.PostStatusDraft)))
//	predicate.Sort(posts, post.Rating.Desc(), post.Title.Asc())
//
// # Field handles
//
// Each handle takes the field's name, as in the GraphQL schema, and a getter
// returning the field's value and whether it is present; present is false
// when the field is null or absent. List getters return the list itself, and
// a nil list is null.
//
//   - [StringField], made by [String]: any type whose underlying type is
//     string (String, ID, enums, AWSEmail, ...). Operands have the field's own
//     type, so an enum field only takes values of its enum.
//   - [OrderedField], made by [Ordered]: numbers and other [cmp.Ordered] types.
//   - [CompareField], made by [Compared]: types ordered by a compare
//     function, such as the AWS date and time scalars.
//   - [BoolField], made by [Bool].
//   - [ListField], made by [List]: lists of comparable elements.
//
// # Operators
//
// The operators are Amplify DataStore's, plus In, NotIn and attribute
// existence from AppSync:
//
//	Eq(x) Ne(x)                  all but list fields
//	Gt Ge Lt Le (x)              string, ordered and compare fields
//	Between(lo, hi)              lo <= v && v <= hi, both ends inclusive
//	BeginsWith(s)                string fields
//	Contains(x) NotContains(x)   string fields: substring; lists: element
//	In(xs...) NotIn(xs...)       string, ordered and compare fields
//	Exists() NotExists()         all fields: the field is present / null
//
// Operands have the field's Go type, except that BeginsWith, Contains and
// NotContains on string fields take a plain string: a prefix of an email
// address is text, not an email address.
//
// [And], [Or] and [Not] combine predicates. The zero [Predicate] (also
// [All]) matches every value. As in Amplify DataStore, And and Or of no
// predicates match every value; In with no values matches none.
//
// # Null semantics
//
// As in Amplify DataStore, an operator that asks for a property of the value
// is false when the field is null, and its negation is true:
//
//	                                    null field
//	Eq Gt Ge Lt Le Between BeginsWith   false
//	Contains In                         false
//	Ne NotContains NotIn                true
//	Exists                              false
//	NotExists                           true
//
// So Ne(x) matches null fields, and Not(f.Eq(x)) equals f.Ne(x). Floating
// point fields follow Go's operators: NaN equals nothing and is not ordered.
// Locally a null field and an absent one are the same; AppSync evaluates
// attributeExists on the stored item, where a field written as null exists.
//
// # Sort order
//
// [Order] values come from a field handle's Asc and Desc methods (lists have
// no order). Strings compare bytewise, numbers numerically, false sorts
// before true, and compare fields use their function. A null field sorts
// before every value, so nulls come first in ascending order and last in
// descending order. [Sort] is stable and sorts by the first order, then by
// the next for ties, and so on.
//
// # Inspection
//
// [Predicate.Expr] returns the predicate as an untyped [Expr] tree, for
// storage query planners and for [Expr.GraphQLFilter], which renders the
// AppSync filter and condition input. Operands stay the Go values they were
// given (enum values keep their enum type), so encoding/json renders them
// through their MarshalJSON or MarshalText methods, if any.
//
// Predicates, orders, field handles and the Expr trees they return are
// immutable and safe for concurrent use.
package predicate
