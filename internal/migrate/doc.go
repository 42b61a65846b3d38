// Package migrate keeps a schema's lock and plans the migration of stored
// data from the locked schema to the current one.
//
// # The lock
//
// dsgen.lock.json, committed next to the schema, pins a stable id to every
// model and every stored field (of models and non-model types) and records
// the stored shape: field types, primary keys, indexes, enum values and the
// schema Version. Ids are never reused. A first lock gives every field its
// current codec field number (1 + its index in meta.Model.Fields), so stores
// written before the lock existed read the same when the codec switches to
// lock ids. A rename keeps the id: the schema declares it with
// @renamedFrom(name: "old") on the type or field (ReadRenames,
// Lock.ApplyRenames), or the user sets "renamedTo" on the lock entry. An
// implicit foreign key that a relation's other end would name differently
// (a v1 @connection(name) pair's commentPostId, the v2 @hasMany/@belongsTo
// pair's postCommentsId) keeps the locked field's id too (matchImplicitKeys).
//
// # Plans
//
// Diff compares a lock with a schema and returns a Plan: ordered, typed
// steps, each saying what it touches and its Effect (preserving, drops,
// needs developer code, forces a re-sync). `dsgen migrate` writes each plan
// as a numbered declarative file, migrations/NNNN_<slug>.json, and moves the
// lock forward. A step that needs developer code names a Go function,
// convertNNNN<Model><Field>, which `dsgen migrate` leaves as a placeholder
// in the model package (migration_NNNN.go, the developer's file) whose body
// does not compile until the developer writes it (Placeholders, Marker).
// Fields of non-model types are planned as model fields are: the function
// of one, convertNNNN<Type><Field>, converts that field of every value of
// the type, wherever records and mutations hold one (the placeholder lists
// where).
//
// # Generate
//
// `dsgen generate` writes a schema's first lock, and afterwards refuses a
// schema that changed since its lock (PendingError). Otherwise Lock.Apply
// gives the schema's fields their lock ids as codec field numbers and
// LoadMigrations reads the migration files, so the generated Schema()
// carries the ids, the last migration number and every migration, with
// Convert set to the developer's functions.
//
// # What the runtime does
//
// runtime/datastore/internal/migrator carries the plans out. At start,
// before sync, the runtime compares the store's recorded migration number
// with the generated code's, refuses a store newer than the code, and
// applies the pending migrations' steps in order, in bounded Badger batches
// that resume after a crash: renames cost nothing, since records and
// catalog keys use lock ids; added fields are backfilled from their default
// (or left null); dropped fields, models and indexes are deleted; changed
// indexes are rebuilt; a re-keyable primary key change rewrites keys;
// meta.Resync steps clear the model and its lastSync; meta.NeedsCode steps
// call the developer's conversion function (MigrationStep.Convert), for a
// field of a non-model type on each value of the type, at any depth and in
// lists. The outbox's pending mutations are rewritten by the same steps.
package migrate
