package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/serve/sdl"
	"github.com/dsgen/dsgen/runtime/appsync"
	"github.com/dsgen/dsgen/runtime/appsync/filter"
	"github.com/dsgen/dsgen/runtime/meta"
)

// backend connects the real-time hub to authentication, the API and @auth.
type backend struct{ s *Server }

// Authenticate checks a connection's authorization headers.
func (b *backend) Authenticate(ctx context.Context, headers map[string]string) (any, error) {
	var id *auth.Identity
	var err error
	if auth.IsSigV4(headers) {
		// AWS_IAM: the headers are those of a signed POST of "{}" to
		// the GraphQL endpoint's /connect, as AppSync has clients sign.
		id, err = b.s.authn.AuthenticateSigned(ctx, auth.SignedRequest{
			Method: "POST", Path: appsync.ConnectPath, Header: headers, Body: []byte("{}")})
	} else {
		id, err = b.s.identityFor(ctx, headers, auth.RequestInfo{})
	}
	if err != nil {
		// AppSync's connection_error carries errorCode 401, which
		// amplify-js reads as "do not retry"; an authorizer webhook that
		// gave no answer is worth retrying.
		e, ok := appsync.AsError(err)
		if !ok {
			e = appsync.Errorf(appsync.UnauthorizedExc, "%v", err)
		}
		ce := *e
		ce.ErrorCode = 401
		if e.ErrorType == auth.ErrorTypeUnavailable {
			ce.ErrorCode = 503
		}
		return nil, &ce
	}
	return id, nil
}

// Subscribe validates a start message: the document, the subscription
// field, the caller's right to listen, owner arguments and the filter.
func (b *backend) Subscribe(ctx context.Context, principal any, req appsync.Request, hdrs map[string]string) (realtime.Subscription, error) {
	id, _ := principal.(*auth.Identity)
	switch {
	case auth.IsSigV4(hdrs):
		// AWS_IAM: the headers are those of a signed POST to the
		// GraphQL endpoint whose body is the message's data string.
		data, _ := appsync.StartData(ctx)
		var err error
		if id, err = b.s.authn.AuthenticateSigned(ctx, auth.SignedRequest{
			Method: "POST", Path: appsync.GraphQLPath, Header: hdrs, Body: []byte(data)}); err != nil {
			return nil, err
		}
	case hasCredentials(hdrs):
		var err error
		if id, err = b.s.identityFor(ctx, hdrs, requestInfo(req)); err != nil {
			return nil, err
		}
	}
	if id == nil {
		return nil, appsync.Errorf(appsync.UnauthorizedExc, "the subscription carries no credentials")
	}
	op, errs := b.s.exec.Prepare(req)
	if len(errs) > 0 {
		return nil, errors.Join(appsync.ErrorList(errs)...)
	}
	if op.Kind != "subscription" {
		return nil, appsync.Errorf(appsync.UnsupportedOperation, "a start message must carry a subscription, got a %s", op.Kind)
	}
	f, err := b.s.exec.SubscriptionField(op)
	if err != nil {
		return nil, appsync.Errorf(appsync.ValidationError, "%v", err)
	}
	if id.Denied("Subscription", f.Name) {
		return nil, subscriptionRefused(f.Name)
	}
	sop, ok := b.s.api.Op("Subscription", f.Name)
	if !ok {
		return nil, appsync.Errorf(appsync.UnsupportedOperation, "%s is not served by dsgen serve", f.Name)
	}
	acc, err := auth.Authorize(sop.Model, auth.OpListen, id)
	if err != nil {
		return nil, onSubscriptionField(f.Name, err)
	}
	// Owner arguments select the items of the owner they name, in every
	// stored form of that owner's identity: DataStore sends the bare user
	// name, records hold "<sub>::<username>".
	owners, err := acc.OwnerFilters(f.Args, sop.OwnerArgs)
	if err != nil {
		return nil, onSubscriptionField(f.Name, err)
	}
	flt, err := filterArg(f.Args, "filter")
	if err != nil {
		return nil, err
	}
	var kind string
	switch sop.Kind {
	case sdl.OpOnCreate:
		kind = "create"
	case sdl.OpOnUpdate:
		kind = "update"
	case sdl.OpOnDelete:
		kind = "delete"
	default:
		return nil, appsync.Errorf(appsync.UnsupportedOperation, "%s is not a model subscription", f.Name)
	}
	sub := &subscription{s: b.s, id: id, acc: acc, model: sop.Model, kind: kind, op: op, owners: owners, renderKey: renderKey(req, id)}
	if sub.filter, err = filter.Compile(flt); err != nil {
		return nil, appsync.Errorf(appsync.BadRequest, "%v", err)
	}
	// AppSync's limits bound what the subscription costs per event.
	if err := filter.CheckSubscriptionLimits(flt); err != nil {
		return nil, appsync.Errorf(appsync.BadRequest, "%v", err)
	}
	return sub, nil
}

// subscriptionRefused is AppSync's refusal of a subscription: its field's
// resolver denies it, so the error names the field on type Subscription.
func subscriptionRefused(field string) error {
	return appsync.Errorf(appsync.Unauthorized, "Not Authorized to access %s on type Subscription", field)
}

// onSubscriptionField rewords an @auth refusal of a subscription (which the
// auth package words per model) as AppSync words it; other errors pass.
func onSubscriptionField(field string, err error) error {
	if ae, ok := errors.AsType[*appsync.Error](err); ok && ae.ErrorType == appsync.Unauthorized {
		return subscriptionRefused(field)
	}
	return err
}

func hasCredentials(h map[string]string) bool {
	for k := range h {
		switch k {
		case "x-api-key", "X-Api-Key", "authorization", "Authorization":
			return true
		}
	}
	return false
}

// subscription is one registered subscription of one caller.
type subscription struct {
	s     *Server
	id    *auth.Identity
	acc   *auth.Access
	model *meta.Model
	kind  string
	op    *gqlexec.Operation
	// filter and owners are compiled once: they run for every event of
	// the topic.
	filter *filter.Filter
	owners []auth.OwnerFilter
	// renderKey names what the rendered payload depends on: the document,
	// its variables and the caller. Subscribers with equal keys share one
	// render per event.
	renderKey string
}

// renderKey fingerprints a subscription's document and caller.
func renderKey(req appsync.Request, id *auth.Identity) string {
	vars, _ := json.Marshal(req.Variables)
	return req.OperationName + "\x00" + req.Query + "\x00" + string(vars) + "\x00" + id.Fingerprint()
}

// renderCache keeps recent event renders by (commit, render key), so one
// event fanned out to many subscribers of the same document is rendered
// once. It is bounded: old commits are dropped as new ones arrive.
type renderCache struct {
	mu     sync.Mutex
	latest uint64
	m      map[renderCacheKey]json.RawMessage
}

type renderCacheKey struct {
	seq uint64
	key string
}

const (
	renderCacheMax    = 4096
	renderCacheWindow = 256
)

func (c *renderCache) get(seq uint64, key string) (json.RawMessage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[renderCacheKey{seq, key}]
	return b, ok
}

func (c *renderCache) put(seq uint64, key string, b json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[renderCacheKey]json.RawMessage)
	}
	c.latest = max(c.latest, seq)
	if len(c.m) >= renderCacheMax {
		for k := range c.m {
			if k.seq+renderCacheWindow < c.latest || len(c.m) >= renderCacheMax {
				delete(c.m, k)
			}
		}
	}
	c.m[renderCacheKey{seq, key}] = b
}

// Topic is the model and mutation kind the subscription listens to.
func (sub *subscription) Topic() (string, string) { return sub.model.Name, sub.kind }

// Render renders ev for this subscriber, when it matches the filter and the
// subscriber may see the item.
func (sub *subscription) Render(ctx context.Context, ev realtime.Event) (payload json.RawMessage, ok bool, err error) {
	// A resolver bug must cost one event, not the process: Render runs on
	// a connection's goroutine, outside net/http's panic recovery.
	defer func() {
		if p := recover(); p != nil {
			payload, ok, err = nil, false, fmt.Errorf("rendering %s event: panic: %v", ev.Model, p)
		}
	}()
	if !sub.acc.Allows(ev.Item) {
		return nil, false, nil
	}
	if !sub.filter.Match(ev.Item) {
		return nil, false, nil
	}
	for _, o := range sub.owners {
		if !o.Match(ev.Item) {
			return nil, false, nil
		}
	}
	if b, ok := sub.s.renders.get(ev.Seq, sub.renderKey); ok {
		return b, true, nil
	}
	item := auth.Redact(sub.s.cfg.Schema, sub.model, ev.Item, auth.OpListen, sub.id)
	resp := sub.s.exec.Render(ctx, sub.op, item, &resolver{s: sub.s, id: sub.id})
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, false, err
	}
	if len(resp.Errors) == 0 {
		sub.s.renders.put(ev.Seq, sub.renderKey, b)
	}
	return b, true, nil
}
