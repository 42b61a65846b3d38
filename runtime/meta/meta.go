// Package meta describes a dsgen schema as plain data: models, fields, keys,
// indexes, relations, auth rules, enums and non-model types.
//
// The schema front end (internal/schema) produces a *Schema from GraphQL SDL;
// the code generator, the runtime, the migration differ and `dsgen serve` all
// read the same values. Generated packages embed their schema as a Go literal
// and return it from Schema(). Values of these types are never mutated after
// construction; share them freely between goroutines.
package meta

// Schema is the whole processed schema. Slices keep source order, with the
// models and fields Amplify adds (join models, foreign keys, timestamps) at the
// positions Amplify's model generator puts them.
type Schema struct {
	// Version is a hex hash of the stored shape: it changes exactly when a
	// model, non-model type, field, key, index or relation changes, and not
	// for auth rules, enum values order-preserving additions aside, or
	// comments. See internal/schema for the exact input of the hash.
	Version   string
	Models    []*Model
	Enums     []*Enum
	NonModels []*NonModel
	// Queries, Mutations and Subscriptions are custom operations declared on
	// the root types (type Query { ... }); they are carried for introspection
	// output and are not served by the runtime.
	Queries       []*Operation
	Mutations     []*Operation
	Subscriptions []*Operation
	// Inputs are GraphQL input types declared in the schema.
	Inputs []*Input
}

// Model returns the model called name, or nil.
func (s *Schema) Model(name string) *Model {
	for _, m := range s.Models {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Enum returns the enum called name, or nil.
func (s *Schema) Enum(name string) *Enum {
	for _, e := range s.Enums {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// NonModel returns the non-model type called name, or nil.
func (s *Schema) NonModel(name string) *NonModel {
	for _, n := range s.NonModels {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Model is a type annotated with @model (or a join model generated for a
// @manyToMany relation).
type Model struct {
	Name string
	// PluralName is Amplify's plural (Blog -> Blogs), used in list and sync
	// operation names.
	PluralName string
	Fields     []*Field
	PrimaryKey PrimaryKey
	Indexes    []*Index
	// Auth holds the model-level @auth rules, normalised (operations expanded,
	// provider, ownerField and identityClaim defaulted).
	Auth []AuthRule
	// Options are the @model arguments.
	Options ModelOptions
	// JoinModel is true for the model generated for a @manyToMany relation.
	JoinModel bool
}

// Field returns the field called name, or nil.
func (m *Model) Field(name string) *Field {
	for _, f := range m.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Index returns the secondary index called name, or nil.
func (m *Model) Index(name string) *Index {
	for _, ix := range m.Indexes {
		if ix.Name == name {
			return ix
		}
	}
	return nil
}

// PrimaryKey names the partition key field and the sort key fields of a model.
type PrimaryKey struct {
	Field    string
	SortKeys []string
	// Custom is true when the key was declared with @primaryKey.
	Custom bool
}

// Fields returns the partition key followed by the sort keys.
func (k PrimaryKey) Fields() []string {
	return append([]string{k.Field}, k.SortKeys...)
}

// Index is a secondary index declared with @index.
type Index struct {
	Name string
	// Fields is the partition key field followed by the sort key fields.
	Fields []string
	// QueryField is the name of the generated GraphQL query, if any.
	QueryField string
}

// ModelOptions are the arguments of @model.
type ModelOptions struct {
	// Timestamps names the automatic timestamp fields; an empty name means the
	// timestamp is disabled.
	Timestamps Timestamps
	// Queries, Mutations and Subscriptions hold the renamed or disabled
	// top-level operations. A nil map means the argument was absent (Amplify's
	// defaults apply); Disabled* means it was set to null.
	Queries               map[string]string
	Mutations             map[string]string
	Subscriptions         map[string]string
	QueriesDisabled       bool
	MutationsDisabled     bool
	SubscriptionsDisabled bool
	// SubscriptionLevel is the subscriptions.level argument ("on", "off",
	// "public"), empty when absent.
	SubscriptionLevel string
	// Raw is the @model argument object exactly as written, as JSON, for the
	// introspection output. Empty when @model has no arguments.
	Raw string
}

// Timestamps names the createdAt and updatedAt fields of a model.
type Timestamps struct {
	CreatedAt string
	UpdatedAt string
}

// TypeKind says what a field's named type is.
type TypeKind uint8

// The kinds of field types.
const (
	KindScalar TypeKind = iota
	KindEnum
	KindNonModel
	KindModel
)

// String returns the kind as Amplify's introspection names it.
func (k TypeKind) String() string {
	switch k {
	case KindScalar:
		return "scalar"
	case KindEnum:
		return "enum"
	case KindNonModel:
		return "nonModel"
	case KindModel:
		return "model"
	}
	return "unknown"
}

// Scalar names, as they appear in GraphQL.
const (
	ID           = "ID"
	String       = "String"
	Int          = "Int"
	Float        = "Float"
	Boolean      = "Boolean"
	AWSDate      = "AWSDate"
	AWSTime      = "AWSTime"
	AWSDateTime  = "AWSDateTime"
	AWSTimestamp = "AWSTimestamp"
	AWSEmail     = "AWSEmail"
	AWSJSON      = "AWSJSON"
	AWSURL       = "AWSURL"
	AWSPhone     = "AWSPhone"
	AWSIPAddress = "AWSIPAddress"
)

// Scalars lists every supported scalar name.
func Scalars() []string {
	return []string{ID, String, Int, Float, Boolean, AWSDate, AWSTime, AWSDateTime,
		AWSTimestamp, AWSEmail, AWSJSON, AWSURL, AWSPhone, AWSIPAddress}
}

// Field is a field of a model or non-model type.
type Field struct {
	Name string
	Kind TypeKind
	// Type is the scalar, enum, non-model or model name.
	Type string
	// Required is true when the value (the element, for lists) is non-null.
	Required bool
	IsList   bool
	// ListRequired is true when the list itself is non-null ([T]!).
	ListRequired bool
	// ReadOnly is true for the automatic timestamp fields.
	ReadOnly bool
	// Implicit is true for fields the schema did not declare: the id added to
	// a model without one, timestamps, foreign keys and join model fields.
	Implicit bool
	// Default is the @default value as written (a string), or nil.
	Default *string
	// Auth holds field-level @auth rules, normalised.
	Auth []AuthRule
	// Relation is set on fields that hold related models.
	Relation *Relation
}

// Stored reports whether the field is kept in the record itself. Relation
// fields that hold other models are resolved through keys and not stored.
func (f *Field) Stored() bool { return f.Kind != KindModel }

// RelationKind is the kind of a relational field.
type RelationKind uint8

// The relation kinds.
const (
	HasOne RelationKind = iota + 1
	HasMany
	BelongsTo
)

// String returns the kind as Amplify's introspection names it.
func (k RelationKind) String() string {
	switch k {
	case HasOne:
		return "HAS_ONE"
	case HasMany:
		return "HAS_MANY"
	case BelongsTo:
		return "BELONGS_TO"
	}
	return "UNKNOWN"
}

// Relation describes a relational field.
//
// For HasMany, AssociatedWith names the fields of the related (child) model
// that hold this model's key (or, for a relation through a join model or a
// belongsTo counterpart, the counterpart field). For BelongsTo and HasOne,
// TargetNames names this model's fields that hold the related model's key.
// HasOne also fills AssociatedWith with the related model's fields it matches.
type Relation struct {
	Kind           RelationKind
	Model          string
	AssociatedWith []string
	TargetNames    []string
	// IndexName is the child's index used by a HasMany, when given.
	IndexName string
	// ManyToMany is the join model name when this HasMany was declared with
	// @manyToMany.
	ManyToMany string
	// References is true when the relation was declared with references
	// (Gen 2 style) rather than fields or implicitly.
	References bool
}

// AuthRule is one normalised @auth rule.
type AuthRule struct {
	Allow         string // public, private, owner, groups, custom
	Provider      string // apiKey, iam, oidc, userPools, function
	OwnerField    string
	IdentityClaim string
	GroupClaim    string
	Groups        []string
	GroupsField   string
	Operations    []string // create, update, delete, read (or get, list, sync, listen, search)
}

// Enum is a GraphQL enum.
type Enum struct {
	Name   string
	Values []string
}

// Has reports whether v is one of the enum's values.
func (e *Enum) Has(v string) bool {
	for _, x := range e.Values {
		if x == v {
			return true
		}
	}
	return false
}

// NonModel is an object type without @model, stored embedded in records.
type NonModel struct {
	Name   string
	Fields []*Field
}

// Operation is a custom query, mutation or subscription field.
type Operation struct {
	Name      string
	Result    *Field
	Arguments []*Field
}

// Input is a GraphQL input type.
type Input struct {
	Name   string
	Fields []*Field
}
