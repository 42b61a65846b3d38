package serve

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/console"
	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// ConsoleAdminGroup is the group whose JWT holders may use the console's
// admin API (every record, history, clients, conflicts), besides any
// holder of a valid API key.
const ConsoleAdminGroup = "dsgen-admin"

// devTokenTTL is how long a dev identity's token is valid.
const devTokenTTL = 12 * time.Hour

// checkDevAuth: dev identities are signed with the HS256 secret the server
// verifies with, so Config.DevAuth needs one.
func checkDevAuth(cfg Config) error {
	if cfg.DevAuth && (cfg.Auth.JWT == nil || len(cfg.Auth.JWT.HS256Secret) == 0) {
		return errors.New("serve: DevAuth needs Auth.JWT.HS256Secret: dev tokens are signed with it")
	}
	return nil
}

// mountConsole adds the web console at / (see internal/serve/console).
func (s *Server) mountConsole(mux *http.ServeMux) {
	cfg := console.Config{
		Schema:    s.cfg.Schema,
		Store:     s.cfg.Store,
		Admit:     s.consoleAdmit,
		Strategy:  func(model string) string { return string(s.strategy(model)) },
		Clients:   s.consoleClients,
		Conflicts: s.conflicts.list,
		Logger:    s.log,
	}
	if len(s.cfg.Auth.APIKeys) > 0 {
		cfg.AuthModes = append(cfg.AuthModes, "apiKey")
	}
	if s.cfg.Auth.JWT != nil {
		cfg.AuthModes = append(cfg.AuthModes, "jwt")
	}
	if s.cfg.DevAuth {
		cfg.DevToken = func(username string, groups []string) (string, map[string]any, error) {
			claims, err := auth.DevClaims(s.cfg.Auth.JWT, username, groups, s.cfg.Now(), devTokenTTL)
			if err != nil {
				return "", nil, err
			}
			tok, err := auth.SignHS256(s.cfg.Auth.JWT.HS256Secret, claims)
			return tok, claims, err
		}
	}
	c, err := console.New(cfg)
	if err != nil {
		s.log.Error("console unavailable", "error", err)
		return
	}
	c.Mount(mux)
}

// consoleAdmit lets API key holders and JWT holders in ConsoleAdminGroup
// use the console's admin API: it shows every record whatever its @auth
// rules say. A server with no credentials configured refuses everyone.
func (s *Server) consoleAdmit(r *http.Request) (string, error) {
	id, err := s.authn.Authenticate(lowerHeaders(r.Header))
	if err != nil {
		msg := err.Error()
		if ae, ok := appsync.AsError(err); ok {
			msg = ae.Message
		}
		return "", &console.Error{Status: http.StatusUnauthorized, Message: "console API: " + msg}
	}
	if id.Mode == auth.ModeAPIKey {
		return "apiKey", nil
	}
	if slices.Contains(id.Groups, ConsoleAdminGroup) {
		return describe(id), nil
	}
	return "", &console.Error{Status: http.StatusForbidden, Message: fmt.Sprintf(
		"console API: %s may not read every record: use an API key or a token in group %q", describe(id), ConsoleAdminGroup)}
}

// describe names a caller for the console.
func describe(id *auth.Identity) string {
	if id == nil {
		return "(not authenticated)"
	}
	if id.Mode == auth.ModeAPIKey {
		return "API key"
	}
	who := "JWT"
	if u := id.Claim("username"); len(u) > 0 {
		who += " " + u[0]
	}
	if len(id.Groups) > 0 {
		who += " [" + strings.Join(id.Groups, ", ") + "]"
	}
	return who
}

// consoleClients lists the real-time connections and their subscriptions.
func (s *Server) consoleClients() []console.Client {
	conns := s.hub.Connections()
	out := make([]console.Client, 0, len(conns))
	for _, ci := range conns {
		id, _ := ci.Principal.(*auth.Identity)
		c := console.Client{ID: ci.ID, Remote: ci.Remote, Opened: ci.Opened, Who: describe(id), Subscriptions: []console.Subscription{}}
		for _, si := range ci.Subscriptions {
			cs := console.Subscription{ID: si.ID, Model: si.Model, Op: si.Op}
			if sub, ok := si.Sub.(*subscription); ok {
				if f, err := s.exec.SubscriptionField(sub.op); err == nil {
					cs.Field, cs.Args = f.Name, f.Args
				}
			}
			c.Subscriptions = append(c.Subscriptions, cs)
		}
		out = append(out, c)
	}
	return out
}

// maxConflictLog is how many recent conflicts the console keeps.
const maxConflictLog = 200

// conflictLog keeps the latest conflicts for the console. Its zero value
// is ready.
type conflictLog struct {
	mu  sync.Mutex
	buf []console.Conflict // a ring once full; next is the oldest then
	nxt int
}

func (l *conflictLog) add(c console.Conflict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < maxConflictLog {
		l.buf = append(l.buf, c)
		return
	}
	l.buf[l.nxt] = c
	l.nxt = (l.nxt + 1) % maxConflictLog
}

// list returns the conflicts oldest first.
func (l *conflictLog) list() []console.Conflict {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append(slices.Clone(l.buf[l.nxt:]), l.buf[:l.nxt]...)
}

// noteConflict records how the model's strategy resolved a conflict of w
// (based on clientVersion) with cur: what resolve returned.
func (s *Server) noteConflict(w *writeCall, id *auth.Identity, cur store.Record, clientVersion int64, next map[string]any, nextKind store.Op, answer any, err error) {
	c := console.Conflict{
		At: s.cfg.Now(), Model: w.m.Name, Key: w.key, Field: w.f.Name, Strategy: string(w.strategy),
		ClientVersion: clientVersion, ServerVersion: cur.Version, Who: describe(id),
		Incoming: maps.Clone(w.input), Server: fullItem(w.m, cur),
	}
	switch {
	case err != nil:
		c.Resolution, c.Error = resolutionFailed, err.Error()
		if ae, ok := appsync.AsError(err); ok && ae.ErrorType == appsync.ConflictUnhandled {
			c.Resolution = resolutionRejected
		}
	case answer != nil:
		c.Resolution = "unchanged"
	case nextKind == store.OpDelete:
		c.Resolution = resolutionRemoved
	case w.strategy == Automerge:
		c.Resolution, c.Result = resolutionMerged, maps.Clone(next)
	default:
		c.Resolution, c.Result = resolutionResolved, maps.Clone(next)
	}
	s.conflicts.add(c)
}
