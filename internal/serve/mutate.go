package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/filter"
	"github.com/dsgen/dsgen/runtime/meta"
	"github.com/dsgen/dsgen/runtime/scalar"
)

// conflictErr aborts a Mutate whose input was based on another version; it
// carries the current record out of the store's write path so the conflict
// is resolved outside it (a webhook must not run under the commit lock).
type conflictErr struct{ cur store.Record }

func (e *conflictErr) Error() string { return "version conflict" }

// conditionFailed is DynamoDB's answer to a failed condition expression.
func conditionFailed(m *meta.Model) error {
	return appsync.Errorf(appsync.ConditionalCheck, "The conditional request failed (model %s)", m.Name)
}

// mutationArgs reads input and condition.
func mutationArgs(f gqlexec.Field) (input, cond map[string]any, err error) {
	in, ok := f.Args["input"].(map[string]any)
	if !ok {
		return nil, nil, appsync.Errorf(appsync.BadRequest, "%s: input must be an object", f.Name)
	}
	cond, err = filterArg(f.Args, "condition")
	return normItem(in).(map[string]any), cond, err
}

// inputVersion reads and removes _version from input; absent is 0, which
// never matches a stored version, as AppSync's templates default it.
func inputVersion(input map[string]any) (int64, bool, error) {
	v, ok := input[fieldVersion]
	delete(input, fieldVersion)
	if !ok || v == nil {
		return 0, false, nil
	}
	n, isInt := normNumber(v).(int64)
	if !isInt || n < 0 {
		return 0, true, appsync.Errorf(appsync.BadRequest, "_version must be a non-negative integer, got %v", v)
	}
	return n, true, nil
}

func (r *resolver) create(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	m := op.Model
	acc, err := r.authorize(m, auth.OpCreate)
	if err != nil {
		return nil, err
	}
	input, cond, err := mutationArgs(f)
	if err != nil {
		return nil, err
	}
	if _, _, err := inputVersion(input); err != nil {
		return nil, err
	}
	// input is mutationArgs' copy, this call's own: no second copy.
	if input, err = acc.PrepareCreateOwned(input); err != nil {
		return nil, err
	}
	if err := auth.CheckWrite(m, input, auth.OpCreate, r.id); err != nil {
		return nil, err
	}
	pk := m.PrimaryKey.Field
	if v, ok := input[pk]; (!ok || v == nil) && m.Field(pk) != nil && m.Field(pk).Type == meta.ID {
		input[pk] = scalar.NewID()
	}
	now := r.s.cfg.Now()
	for _, fd := range m.Fields {
		if v, ok := input[fd.Name]; (ok && v != nil) || fd.Default == nil {
			continue // given, or no default; null gets the default as in Amplify
		}
		v, err := meta.DefaultValue(fd, *fd.Default)
		if err != nil {
			return nil, appsync.Errorf(appsync.BadRequest, "%s.%s: @default %q: %v", m.Name, fd.Name, *fd.Default, err)
		}
		input[fd.Name] = v
	}
	if v, ok := m.Versioned(); ok {
		input[v.Field] = int64(1) // as graphql-versioned-transformer's create
	}
	ts := m.Options.Timestamps
	var stamp any // both stamps of one type are one value: formatted once
	var stampType string
	for _, name := range [...]string{ts.CreatedAt, ts.UpdatedAt} {
		if name != "" && input[name] == nil {
			f := m.Field(name)
			if t := stampTypeOf(f); stamp == nil || t != stampType {
				stamp, stampType = stampValue(f, now), t
			}
			input[name] = stamp
		}
	}
	if err := r.s.checkValues(m, input); err != nil {
		return nil, err
	}
	key, err := keyOf(m, input)
	if err != nil {
		return nil, err
	}
	ch, err := r.s.cfg.Store.Mutate(ctx, m.Name, key, func(cur *store.Record) (map[string]any, store.Op, error) {
		if cur != nil {
			return nil, 0, conditionFailed(m)
		}
		if ok, err := filter.Match(cond, map[string]any{}); err != nil || !ok {
			return nil, 0, conditionFailed(m)
		}
		return input, store.OpCreate, nil
	})
	if err != nil {
		return nil, mutationError(err)
	}
	r.s.countMutation(m.Name, ch.Op)
	return auth.Redact(r.s.cfg.Schema, m, output(ch.Record), auth.OpCreate, r.id), nil
}

func (r *resolver) update(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	return r.write(ctx, op, f, store.OpUpdate)
}

func (r *resolver) delete(ctx context.Context, op sdl.Op, f gqlexec.Field) (any, error) {
	return r.write(ctx, op, f, store.OpDelete)
}

// writeCall is one update or delete being served.
type writeCall struct {
	m        *meta.Model
	f        gqlexec.Field
	kind     store.Op       // what the client asked for
	aop      auth.Operation // kind as an auth operation
	acc      *auth.Access
	input    map[string]any
	cond     map[string]any
	key      []any
	strategy Strategy
	// expected is the version an update or delete of a @versioned model
	// expects the stored record to have (the versionInput argument).
	expected *int64
}

// write serves update and delete: the condition, the owner check and the
// version check run in the store's transaction; a version conflict is
// resolved by the model's strategy and the write retried against the version
// the resolution was based on.
func (r *resolver) write(ctx context.Context, op sdl.Op, f gqlexec.Field, kind store.Op) (any, error) {
	w, version, err := r.writeCall(op.Model, f, kind)
	if err != nil {
		return nil, err
	}
	// next is the write to attempt: the input itself, then a merged or
	// resolved item after a conflict.
	next, nextKind, check := w.input, kind, w.strategy != None
	for attempt := 0; attempt <= r.s.cfg.MaxConflictRetries; attempt++ {
		ch, err := r.s.cfg.Store.Mutate(ctx, w.m.Name, w.key, func(cur *store.Record) (map[string]any, store.Op, error) {
			return r.writeTo(w, cur, next, nextKind, version, check)
		})
		var conflict *conflictErr
		if !errors.As(err, &conflict) {
			if err != nil {
				return nil, mutationError(err)
			}
			r.s.countMutation(w.m.Name, ch.Op)
			return auth.Redact(r.s.cfg.Schema, w.m, output(ch.Record), w.aop, r.id), nil
		}
		var answer any
		next, nextKind, answer, err = r.resolve(ctx, w, conflict.cur)
		r.s.noteConflict(w, r.id, conflict.cur, version, next, nextKind, answer, err)
		if answer != nil || err != nil {
			return answer, err
		}
		version = conflict.cur.Version
	}
	return nil, appsync.Errorf(appsync.MaxConflicts, "%s %v: gave up after %d conflicting concurrent writes", w.m.Name, w.key, r.s.cfg.MaxConflictRetries)
}

// writeCall checks an update or delete's caller and arguments, and returns
// the call with the _version the client based it on.
func (r *resolver) writeCall(m *meta.Model, f gqlexec.Field, kind store.Op) (*writeCall, int64, error) {
	w := &writeCall{m: m, f: f, kind: kind, aop: auth.OpUpdate, strategy: r.s.strategy(m.Name)}
	if kind == store.OpDelete {
		w.aop = auth.OpDelete
	}
	var err error
	if w.acc, err = r.authorize(m, w.aop); err != nil {
		return nil, 0, err
	}
	if w.input, w.cond, err = mutationArgs(f); err != nil {
		return nil, 0, err
	}
	version, _, err := inputVersion(w.input)
	if err != nil {
		return nil, 0, err
	}
	if w.expected, err = expectedVersion(m, w.input); err != nil {
		return nil, 0, err
	}
	if kind == store.OpDelete {
		if err := auth.CheckWrite(m, w.input, w.aop, r.id); err != nil {
			return nil, 0, err
		}
	}
	if w.key, err = keyOf(m, w.input); err != nil {
		return nil, 0, err
	}
	if kind == store.OpUpdate {
		if ts := m.Options.Timestamps; ts.UpdatedAt != "" {
			if w.input[ts.UpdatedAt] == nil {
				w.input[ts.UpdatedAt] = stampValue(m.Field(ts.UpdatedAt), r.s.cfg.Now())
			}
		}
		if err := r.s.checkValues(m, w.input); err != nil {
			return nil, 0, err
		}
	}
	return w, version, nil
}

// writeTo decides, in the store's transaction, what writing next (of
// nextKind, based on version) does to the stored record cur: the item to
// store, or an error (a *conflictErr when versions disagree and check is
// on, or cur is deleted).
func (r *resolver) writeTo(w *writeCall, cur *store.Record, next map[string]any, nextKind store.Op, version int64, check bool) (map[string]any, store.Op, error) {
	m := w.m
	if cur == nil {
		return nil, 0, conditionFailed(m)
	}
	curOut := output(*cur)
	if !w.acc.Allows(curOut) {
		return nil, 0, unauthorized(w.f.Name, m)
	}
	if ok, err := filter.Match(w.cond, curOut); err != nil || !ok {
		return nil, 0, conditionFailed(m)
	}
	curV, err := checkExpected(m, w.expected, cur)
	if err != nil {
		return nil, 0, err
	}
	if check && version > cur.Version {
		// No client has seen a version the server has not
		// assigned: this is tampering, not a conflict.
		return nil, 0, appsync.Errorf(appsync.BadRequest, "%s: _version %d is ahead of the stored version %d: versions are assigned by the server", m.Name, version, cur.Version)
	}
	if cur.Deleted || (check && version != cur.Version) {
		return nil, 0, &conflictErr{cur: *cur}
	}
	if nextKind == store.OpDelete {
		return cur.Item, store.OpDelete, nil
	}
	if err := auth.CheckUpdate(m, next, cur.Item, r.id); err != nil {
		return nil, 0, err
	}
	item := maps.Clone(cur.Item)
	maps.Copy(item, next)
	if v, ok := m.Versioned(); ok {
		item[v.Field] = curV + 1
	}
	if !w.acc.Allows(item) {
		// An update may not hand the record to another owner.
		return nil, 0, unauthorized(w.f.Name, m)
	}
	return item, store.OpUpdate, nil
}

// expectedVersion reads and removes the versionInput argument of an
// update or delete of a @versioned model (the API makes it a required
// Int); it returns nil for other models.
func expectedVersion(m *meta.Model, input map[string]any) (*int64, error) {
	v, ok := m.Versioned()
	if !ok {
		return nil, nil
	}
	raw := input[v.Input]
	delete(input, v.Input)
	n, isInt := normNumber(raw).(int64)
	if !isInt {
		return nil, appsync.Errorf(appsync.BadRequest, "%s: %s must be an integer, got %v", m.Name, v.Input, raw)
	}
	return &n, nil
}

// checkExpected is @versioned's condition, which the v1 transformer adds
// to the update and delete conditions: the stored version must be the one
// the caller expects, or the write fails as a failed condition does. It
// returns the stored version (0 for a model that is not @versioned).
func checkExpected(m *meta.Model, expected *int64, cur *store.Record) (int64, error) {
	v, ok := m.Versioned()
	if !ok {
		return 0, nil
	}
	stored, _ := normNumber(cur.Item[v.Field]).(int64)
	if expected != nil && !cur.Deleted && stored != *expected {
		return 0, appsync.Errorf(appsync.ConditionalCheck, "The conditional request failed (model %s: %s is %d, %s was %d)", m.Name, v.Field, stored, v.Input, *expected)
	}
	return stored, nil
}

// resolve applies the model's conflict strategy to a write that conflicted
// with cur: it returns the write to attempt next, or the call's answer (or
// error) when the conflict ends it.
func (r *resolver) resolve(ctx context.Context, w *writeCall, cur store.Record) (next map[string]any, nextKind store.Op, answer any, _ error) {
	m := w.m
	if cur.Deleted || w.strategy == Optimistic || w.strategy == None {
		r.s.countConflict(m.Name, resolutionRejected)
		return nil, 0, nil, r.conflictUnhandled(m, cur)
	}
	if w.strategy == Automerge {
		if w.kind == store.OpDelete {
			// AppSync's automerge merges fields; a delete based on
			// an old version has nothing to merge.
			r.s.countConflict(m.Name, resolutionRejected)
			return nil, 0, nil, r.conflictUnhandled(m, cur)
		}
		r.s.countConflict(m.Name, resolutionMerged)
		merged := automerge(cur.Item, w.input)
		if reflect.DeepEqual(merged, cur.Item) {
			return nil, 0, auth.Redact(r.s.cfg.Schema, m, output(cur), w.aop, r.id), nil
		}
		return merged, store.OpUpdate, nil, nil
	}
	// Custom (New accepts no other strategy).
	res, err := r.s.callWebhook(ctx, m, w.f, cur, w.input, w.kind, r.id)
	if err != nil {
		r.s.countConflict(m.Name, resolutionFailed)
		return nil, 0, nil, err
	}
	switch res.action {
	case "REJECT":
		r.s.countConflict(m.Name, resolutionRejected)
		return nil, 0, nil, r.conflictUnhandled(m, cur)
	case "REMOVE":
		r.s.countConflict(m.Name, resolutionRemoved)
		return nil, store.OpDelete, nil, nil
	}
	r.s.countConflict(m.Name, resolutionResolved)
	for _, k := range m.PrimaryKey.Fields() {
		res.item[k] = cur.Item[k]
	}
	if err := r.s.checkValues(m, res.item); err != nil {
		return nil, 0, nil, appsync.Errorf(appsync.ConflictError, "conflict webhook returned an invalid item: %v", err)
	}
	return res.item, store.OpUpdate, nil, nil
}

// mutationError passes typed API errors through and hides the rest.
func mutationError(err error) error {
	if _, ok := appsync.AsError(err); ok {
		return err
	}
	return internal(err)
}

// conflictUnhandled is the rejection AppSync sends, with the server's item
// as the caller would read it: AppSync's item in the error has been through
// the response mapping, so field rules apply, and the item must not carry
// what a get of the record would hide (a field-level @auth field, a Lambda
// authorizer's deniedFields), or a stale update would read it. A caller
// whose rules do not let it read the record at all gets no data (null),
// as for a get it may not make.
func (r *resolver) conflictUnhandled(m *meta.Model, cur store.Record) error {
	e := appsync.Errorf(appsync.ConflictUnhandled, "Conflict resolver rejects mutation.")
	item := fullItem(m, cur)
	if acc, err := r.authorize(m, auth.OpGet); err == nil && acc.Allows(item) {
		e.Data = auth.Redact(r.s.cfg.Schema, m, item, auth.OpGet, r.id)
	}
	return e
}

// fullItem is a record with every stored field, null ones too: what the
// server sends where no selection set shapes it (conflict error data, the
// webhook's existingItem), so a client can take it as the whole copy.
func fullItem(m *meta.Model, cur store.Record) map[string]any {
	item := output(cur)
	for _, f := range storedFields(m) {
		if _, ok := item[f.Name]; !ok {
			item[f.Name] = nil
		}
	}
	return item
}

// automerge applies AppSync's AUTOMERGE rules to an incoming input against
// the server's item: server scalars win, incoming list elements are
// appended, fields the server holds no value for are filled, and non-model
// objects are merged field by field.
func automerge(server, incoming map[string]any) map[string]any {
	out := maps.Clone(server)
	for k, in := range incoming {
		sv, ok := server[k]
		if !ok || sv == nil {
			out[k] = in
			continue
		}
		switch s := sv.(type) {
		case []any:
			if l, ok := in.([]any); ok {
				out[k] = append(append([]any{}, s...), l...)
			}
		case map[string]any:
			if mm, ok := in.(map[string]any); ok {
				out[k] = automerge(s, mm)
			}
		}
	}
	return out
}

// webhookResult is the parsed answer of a conflict webhook.
type webhookResult struct {
	action string
	item   map[string]any
}

// callWebhook sends AppSync's Lambda conflict payload and reads the answer.
func (s *Server) callWebhook(ctx context.Context, m *meta.Model, f gqlexec.Field, cur store.Record, input map[string]any, kind store.Op, id *auth.Identity) (webhookResult, error) {
	preview := maps.Clone(cur.Item)
	if kind == store.OpUpdate {
		maps.Copy(preview, input)
	}
	var identity any
	if id != nil && id.Mode == auth.ModeJWT {
		identity = map[string]any{"claims": id.Claims, "groups": id.Groups}
	}
	if id != nil && id.Mode == auth.ModeLambda {
		// AppSync's $ctx.identity for a Lambda-authorized caller.
		identity = map[string]any{"resolverContext": id.ResolverContext}
	}
	if id != nil && id.Mode == auth.ModeIAM {
		// The fields of AppSync's $ctx.identity for an IAM caller that a
		// configured credential can fill: username (here its access
		// key id) and cognitoIdentityAuthType (its role).
		identity = map[string]any{"username": id.IAM.AccessKeyID, "cognitoIdentityAuthType": string(id.IAM.Role)}
	}
	body, err := json.Marshal(map[string]any{
		"newItem":      preview,
		"existingItem": fullItem(m, cur),
		"arguments":    f.Args,
		"resolver":     map[string]any{"tableName": m.Name, "awsRegion": "local", "parentType": "Mutation", "field": f.Name},
		"identity":     identity,
	})
	if err != nil {
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "encoding the conflict payload: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.ConflictWebhook, bytes.NewReader(body))
	if err != nil {
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook unreachable: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode/100 != 2 {
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook answered %s", resp.Status)
	}
	var ans struct {
		Action string         `json:"action"`
		Item   map[string]any `json:"item"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook answer is not JSON: %v", err)
	}
	switch ans.Action {
	case "REJECT", "REMOVE":
	case "RESOLVE":
		if ans.Item == nil {
			return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook answered RESOLVE without an item")
		}
		for _, meta := range []string{fieldVersion, fieldDeleted, fieldLastChanged} {
			delete(ans.Item, meta)
		}
		ans.Item = normItem(ans.Item).(map[string]any)
	default:
		return webhookResult{}, appsync.Errorf(appsync.ConflictError, "conflict webhook answered action %q (want RESOLVE, REJECT or REMOVE)", ans.Action)
	}
	s.log.Info("conflict resolved by webhook", "model", m.Name, "field", f.Name, "action", ans.Action)
	return webhookResult{action: ans.Action, item: ans.Item}, nil
}
