// Package meta describes a dsgen schema as plain data: models, fields, keys,
// indexes, relations, auth rules, enums and non-model types.
//
// The schema front end (internal/schema) produces a *Schema from GraphQL SDL;
// the code generator, the runtime, the migration differ and `dsgen serve` all
// read the same values. Generated packages embed their schema as a Go literal
// and return it from Schema(). Values of these types are never mutated after
// construction; share them freely between goroutines.
package meta

import "encoding/json"

// Schema is the whole processed schema. Slices keep source order, with the
// models and fields Amplify adds (join models, foreign keys, timestamps) at the
// positions Amplify's model generator puts them.
type Schema struct {
	// Version is a hex hash of the stored shape: it changes when a model,
	// non-model type, field (name, type, nullability, list-ness), primary
	// key, index, relation or enum value set changes, and not for the order
	// of declarations, auth rules, @default values, custom operations or
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
	// Migration is the number of the schema's last migration (0 before
	// the first); a store records the number it was last migrated to.
	Migration int
	// Migrations are the schema's migrations, oldest first: what the
	// runtime applies to a store written by an older schema.
	Migrations []*Migration
	// TransformerV1 is true for a schema written with Amplify's GraphQL
	// transformer v1 directives (@key, @connection, @versioned). The
	// metadata has the same meaning either way; the flag selects the v1
	// shape of the introspection output and of the AppSync API (for
	// example the owner argument v1 requires on owner-auth subscriptions).
	TransformerV1 bool
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
	// Auth holds the model-level @auth rules, normalised the way Amplify's
	// model generator does (see AuthRule). A join model carries the rules of
	// both related models.
	Auth []AuthRule
	// Options are the @model arguments.
	Options ModelOptions
	// JoinModel is true for the model generated for a @manyToMany relation.
	JoinModel bool
	// Directives are the model's type-level directives other than @auth, in
	// source order and with their arguments as written: @model itself,
	// @searchable, @refersTo, custom transformer directives... Amplify's
	// introspection lists them as model attributes. With transformer v1
	// they also hold the @key directives, and the @auth directives last
	// with their rules normalised as Amplify's generator writes them.
	Directives []Directive
}

// Directive is a directive use with its arguments.
type Directive struct {
	Name string
	// Args is the argument object as written, as JSON ("{}" when none).
	Args string
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
	// Implicit is true for an index the schema did not declare: the one
	// Amplify adds on the child of a @hasMany that has neither an indexName
	// nor a @belongsTo counterpart (named "gsi-Parent.field").
	Implicit bool
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
	// KindInput is an input type; it appears only in the arguments of custom
	// operations and in the fields of other input types.
	KindInput
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
	case KindInput:
		return "input"
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
	// ReadOnly is true for the automatic timestamp fields the generator adds
	// (createdAt, updatedAt or their @model(timestamps) names). As in Amplify,
	// a timestamp field the schema declares itself is not read-only; use
	// Model.Options.Timestamps to find the timestamp fields.
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
	// Hidden is true for a stored field that Amplify's model introspection
	// does not list: with transformer v1, the foreign keys of @connection
	// fields, which the v1 transformer adds to the mutation inputs only and
	// Amplify's v1 model generator leaves out.
	Hidden bool
	// Number is the field's codec field number: its stable id in the schema
	// lock (dsgen.lock.json), which survives renames and reordering. Zero
	// means 1 + the field's index in its type's Fields, the number a field
	// has before its schema is locked.
	Number int
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
// AssociatedWith and TargetNames are exactly what Amplify's model
// introspection says, for compatibility. For HasMany, AssociatedWith names
// the fields of the related (child) model that hold this model's key, but
// Amplify names the child's @belongsTo field instead when there is one, and
// only the first key field when the relation uses an index. For BelongsTo
// and HasOne, TargetNames names this model's fields that hold the related
// model's key (empty for HasOne with references). HasOne also fills
// AssociatedWith with the related model's fields it matches.
//
// To find related records use Keys and RelatedKeys, which are always field
// names of stored (non-model) fields, whatever style declared the relation.
type Relation struct {
	Kind           RelationKind
	Model          string
	AssociatedWith []string
	TargetNames    []string
	// Keys and RelatedKeys pair this model's fields with the related
	// model's fields: a record of the related model is related to a record
	// of this model when, for every i, its field RelatedKeys[i] equals this
	// record's field Keys[i]. For BelongsTo and HasOne with fields (or
	// implicit keys), Keys are this model's foreign keys and RelatedKeys the
	// related model's primary key. For HasMany, and HasOne with references,
	// Keys are this model's primary key (or the fields named in
	// @hasMany(fields)) and RelatedKeys the related model's fields holding
	// them (foreign keys, references, or the fields of the index used).
	Keys        []string
	RelatedKeys []string
	// IndexName is the child's index used by a HasMany, when given.
	IndexName string
	// ManyToMany is the join model name when this HasMany was declared with
	// @manyToMany.
	ManyToMany string
	// References is true when the relation was declared with references
	// (Gen 2 style) rather than fields or implicitly.
	References bool
}

// AuthRule is one @auth rule, normalised as Amplify's model generator does:
// operations default to create, update, delete and read; owner rules get
// provider userPools, ownerField "owner" and identityClaim
// "cognito:username" unless given; groups rules get provider userPools and
// groupClaim "cognito:groups" unless given. Other rules keep Provider empty
// when the schema gives none; EffectiveProvider returns AppSync's default.
// Groups is nil when the rule has no groups argument.
type AuthRule struct {
	Allow         string // public, private, owner, groups, custom
	Provider      string // apiKey, iam, oidc, userPools, function, or "" (see EffectiveProvider)
	OwnerField    string
	IdentityClaim string
	GroupClaim    string
	Groups        []string
	GroupsField   string
	Operations    []string // create, update, delete, read (or get, list, sync, listen, search)
}

// EffectiveProvider returns the rule's provider, or the provider AppSync
// uses when the schema names none: apiKey for public, userPools for private,
// owner and groups, function for custom.
func (r AuthRule) EffectiveProvider() string {
	if r.Provider != "" {
		return r.Provider
	}
	switch r.Allow {
	case "public":
		return "apiKey"
	case "custom":
		return "function"
	}
	return "userPools"
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

// Ptr returns a pointer to s, for optional values in metadata literals.
func Ptr(s string) *string { return &s }

// The names @versioned uses when its arguments are absent.
const (
	DefaultVersionField = "version"
	DefaultVersionInput = "expectedVersion"
)

// Versioning is what a transformer v1 @versioned directive asks of a model's
// API: the server stores a version counter in Field (1 on create, one more
// on every update) and an update or delete must carry the version it
// expects in the input field Input, failing its condition otherwise.
type Versioning struct {
	Field string
	Input string
}

// Versioned returns the model's @versioned settings, and false when the
// model has no @versioned directive.
func (m *Model) Versioned() (Versioning, bool) {
	for _, d := range m.Directives {
		if d.Name != "versioned" {
			continue
		}
		var args struct {
			VersionField *string `json:"versionField"`
			VersionInput *string `json:"versionInput"`
		}
		_ = json.Unmarshal([]byte(d.Args), &args) // written by internal/schema; absent keys keep the defaults
		v := Versioning{Field: DefaultVersionField, Input: DefaultVersionInput}
		if args.VersionField != nil && *args.VersionField != "" {
			v.Field = *args.VersionField
		}
		if args.VersionInput != nil && *args.VersionInput != "" {
			v.Input = *args.VersionInput
		}
		return v, true
	}
	return Versioning{}, false
}
