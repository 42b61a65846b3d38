package syncengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dsgen/dsgen/runtime/appsync/client"
	"github.com/dsgen/dsgen/runtime/appsync/rtclient"
	"github.com/dsgen/dsgen/runtime/meta"
)

// AuthMode is an AppSync authorization mode, named as @auth providers are.
type AuthMode string

// The authorization modes, in the order Amplify's multi-auth strategy
// tries them for rules of the same kind.
const (
	AuthFunction  AuthMode = "function" // Lambda authorizer
	AuthUserPools AuthMode = "userPools"
	AuthOIDC      AuthMode = "oidc"
	AuthIAM       AuthMode = "iam"
	AuthAPIKey    AuthMode = "apiKey"
)

// ruleOrder and modeOrder are Amplify's multi-auth priority: rules from the
// most to the least specific kind, and within a kind by provider.
var (
	ruleOrder = []string{"custom", "owner", "groups", "private", "public"}
	modeOrder = []AuthMode{AuthFunction, AuthUserPools, AuthOIDC, AuthIAM, AuthAPIKey}
)

// The requests the engine makes, as @auth operations name them.
const (
	opSync   = "sync"
	opListen = "listen"
	opGet    = "get"
)

// authChoice is one way to authorize a request: a client and the auth
// behind it (for subscriptions, which go over the shared connection).
type authChoice struct {
	mode   AuthMode
	client *client.Client
	auth   client.Auth
}

// authPlan holds, per model and request, the modes to try in order. With
// a single Config.Auth every request has that one choice.
type authPlan struct {
	// single is the one choice of single-auth mode; with multi-auth, the
	// configured modes in priority order, tried in turn for the real-time
	// connection itself.
	single  []authChoice
	byModel map[string]map[string][]authChoice
}

// newAuthPlan builds the clients and the per-model choices.
func newAuthPlan(s *meta.Schema, cfg Config, opts []client.Option) (*authPlan, error) {
	if len(cfg.AuthModes) == 0 {
		cl, err := client.New(cfg.Endpoint, cfg.Auth, opts...)
		if err != nil {
			return nil, fmt.Errorf("syncengine: %w", err)
		}
		return &authPlan{single: []authChoice{{client: cl, auth: cfg.Auth}}}, nil
	}
	clients := map[AuthMode]authChoice{}
	for mode, a := range cfg.AuthModes {
		if !slices.Contains(modeOrder, mode) || a == nil {
			return nil, fmt.Errorf("syncengine: Config.AuthModes: mode %q (want one of %v, with a non-nil client.Auth)", mode, modeOrder)
		}
		cl, err := client.New(cfg.Endpoint, a, opts...)
		if err != nil {
			return nil, fmt.Errorf("syncengine: auth mode %s: %w", mode, err)
		}
		clients[mode] = authChoice{mode: mode, client: cl, auth: a}
	}
	p := &authPlan{byModel: map[string]map[string][]authChoice{}}
	for _, m := range s.Models {
		ops := map[string][]authChoice{}
		for _, op := range []string{opSync, opListen, opGet, "create", "update", "delete"} {
			for _, mode := range allowedModes(m.Auth, op) {
				if c, ok := clients[mode]; ok {
					ops[op] = append(ops[op], c)
				}
			}
		}
		p.byModel[m.Name] = ops
	}
	// The real-time connection itself is authorized with the most specific
	// mode configured that the backend accepts; each subscription carries
	// its own.
	for _, mode := range modeOrder {
		if c, ok := clients[mode]; ok {
			p.single = append(p.single, c)
		}
	}
	return p, nil
}

// allowedModes lists the modes whose rules allow op on a model, in
// Amplify's priority order, each once. A model without rules allows every
// mode (the API's default applies).
func allowedModes(rules []meta.AuthRule, op string) []AuthMode {
	if len(rules) == 0 {
		return modeOrder
	}
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b meta.AuthRule) int {
		if c := cmp.Compare(slices.Index(ruleOrder, a.Allow), slices.Index(ruleOrder, b.Allow)); c != 0 {
			return c
		}
		return cmp.Compare(slices.Index(modeOrder, AuthMode(a.EffectiveProvider())), slices.Index(modeOrder, AuthMode(b.EffectiveProvider())))
	})
	var out []AuthMode
	for _, r := range sorted {
		mode := AuthMode(r.EffectiveProvider())
		if allows(r, op) && !slices.Contains(out, mode) {
			out = append(out, mode)
		}
	}
	return out
}

// allows reports whether rule r grants op: rules without operations grant
// all; "read" grants get, list, sync, listen and search.
func allows(r meta.AuthRule, op string) bool {
	if len(r.Operations) == 0 || slices.Contains(r.Operations, op) {
		return true
	}
	switch op {
	case opSync, opListen, opGet, "list", "search":
		return slices.Contains(r.Operations, "read")
	}
	return false
}

// choices returns the modes to try for op on model, in order.
func (p *authPlan) choices(model, op string) []authChoice {
	if p.byModel == nil {
		return p.single
	}
	return p.byModel[model][op]
}

// skippable reports whether err, from a model's sync query or
// subscription, means multi-auth has no mode the backend accepts for it:
// the model is then left out of this session (as Amplify does) instead of
// failing it. With a single Config.Auth nothing is skippable: a refusal
// ends the session, which retries with backoff.
func (p *authPlan) skippable(err error) bool {
	return err != nil && p.byModel != nil && (errors.Is(err, errNoAuthMode) || refused(err))
}

// errNoAuthMode is returned for a request no configured mode may make.
var errNoAuthMode = errors.New("no configured auth mode is allowed by the model's @auth rules")

// refused reports whether err is the backend refusing the mode: bad
// credentials or an @auth denial, either of which the next mode may pass.
func refused(err error) bool {
	if errors.Is(err, client.ErrUnauthorized) || errors.Is(err, rtclient.ErrUnauthorized) {
		return true
	}
	_, ok := client.IsUnauthorized(err)
	return ok
}

// withAuth runs fn with each of model's choices for op until one is not
// refused; the last refusal is returned when all are.
func withAuth[T any](e *Engine, model, op string, fn func(authChoice) (T, error)) (T, error) {
	var zero T
	cs := e.auth.choices(model, op)
	if len(cs) == 0 {
		return zero, fmt.Errorf("%s %s: %w", op, model, errNoAuthMode)
	}
	var err error
	for i, c := range cs {
		var v T
		if v, err = fn(c); err == nil || !refused(err) {
			return v, err
		}
		if i < len(cs)-1 {
			e.log.Debug("auth mode refused; trying the next", "model", model, "op", op, "mode", c.mode, "error", err)
		}
	}
	return zero, err
}

// dial opens the real-time connection with the first configured mode the
// backend accepts.
func (e *Engine) dial(ctx context.Context) (*rtclient.Conn, error) {
	var err error
	for _, c := range e.auth.single {
		var conn *rtclient.Conn
		conn, err = rtclient.Dial(context.WithValue(ctx, subAuthKey{}, c), e.cfg.RealtimeURL, rtclient.Options{
			Header:     e.realtimeHeaders,
			HTTPClient: e.cfg.HTTPClient,
			Logger:     e.log,
		})
		if err == nil || !refused(err) {
			return conn, err
		}
		e.log.Debug("real-time connection refused with this auth mode", "mode", c.mode, "error", err)
	}
	return nil, err
}

// subAuthKey carries a subscription's auth to the connection's header
// function (rtclient asks it for each subscription's authorization).
type subAuthKey struct{}

// realtimeHeaders returns the authorization of the connection, or of the
// subscription ctx carries.
func (e *Engine) realtimeHeaders(ctx context.Context) (map[string]string, error) {
	if c, ok := ctx.Value(subAuthKey{}).(authChoice); ok {
		return c.client.RealtimeHeaders(ctx)
	}
	return e.client.RealtimeHeaders(ctx)
}
