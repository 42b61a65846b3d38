// Package console is the web console of `dsgen serve`, at "/": one page
// whose script and styles are embedded in the binary (dist/, built from
// web/ by `go generate`, checked in so `go build` needs no Node), and the
// small JSON API the page reads under /console/api/.
//
// The page itself talks GraphQL to /graphql and the AppSync real-time
// protocol to /graphql/realtime like any client. The API serves what
// GraphQL cannot: every record with its sync metadata regardless of @auth,
// a record's history from the change log, the connected real-time clients
// and the conflicts seen. It needs admin credentials (Config.Admit); dev
// tokens (Config.DevToken) exist only when the server runs with --dev-auth.
package console

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/dsgen/dsgen/internal/serve/store"
	"github.com/dsgen/dsgen/runtime/meta"
)

//go:generate sh -c "cd web && npm ci --no-audit --no-fund && npm run build"

//go:embed dist
var dist embed.FS

// Config connects the console to a running server.
type Config struct {
	Schema *meta.Schema
	Store  store.Store
	// Admit checks a request's credentials for the API: it returns who
	// the caller is, for the log, or an *Error (401 or 403).
	Admit func(r *http.Request) (who string, err error)
	// Strategy names a model's conflict strategy.
	Strategy func(model string) string
	// Clients lists the connected real-time clients.
	Clients func() []Client
	// Conflicts lists the recent conflicts, oldest first.
	Conflicts func() []Conflict
	// DevToken signs a development token; nil (the default) means the
	// server runs without --dev-auth and /console/api/dev-token does not
	// exist.
	DevToken func(username string, groups []string) (token string, claims map[string]any, err error)
	// AuthModes are the credentials the server accepts ("apiKey", "jwt"),
	// shown by the page.
	AuthModes []string
	Logger    *slog.Logger
}

// Client is one connected real-time client.
type Client struct {
	ID            uint64         `json:"id"`
	Remote        string         `json:"remote"`
	Opened        time.Time      `json:"opened"`
	Who           string         `json:"who"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// Subscription is one registered subscription of a client.
type Subscription struct {
	ID    string `json:"id"`
	Field string `json:"field"`
	Model string `json:"model"`
	Op    string `json:"op"`
	// Args are the subscription field's arguments (filter, owner).
	Args map[string]any `json:"args,omitempty"`
}

// Conflict is one version conflict and how the model's strategy resolved
// it.
type Conflict struct {
	At       time.Time `json:"at"`
	Model    string    `json:"model"`
	Key      []any     `json:"key"`
	Field    string    `json:"field"`    // the mutation, e.g. updatePost
	Strategy string    `json:"strategy"` // automerge, optimistic, custom, none
	// Resolution is rejected, merged, unchanged (automerge found nothing
	// to write), resolved, removed (the webhook's answers) or failed.
	Resolution    string         `json:"resolution"`
	ClientVersion int64          `json:"clientVersion"`
	ServerVersion int64          `json:"serverVersion"`
	Who           string         `json:"who"`
	Incoming      map[string]any `json:"incoming,omitempty"`
	Server        map[string]any `json:"server,omitempty"`
	// Result is the item the resolution went on to write, if any.
	Result map[string]any `json:"result,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// Error is an API error with its HTTP status.
type Error struct {
	Status  int
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Console serves the page and its API.
type Console struct {
	cfg    Config
	assets http.Handler
	index  []byte
	byName map[string]*meta.Model
}

// New returns the console for cfg; Schema, Store and Admit are required.
func New(cfg Config) (*Console, error) {
	if cfg.Schema == nil || cfg.Store == nil || cfg.Admit == nil {
		return nil, errors.New("console: Config.Schema, Store and Admit are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, errors.New("console: dist/index.html is missing: run go generate ./internal/serve/console")
	}
	c := &Console{cfg: cfg, assets: http.StripPrefix("/console/assets/", http.FileServerFS(sub)), index: index, byName: map[string]*meta.Model{}}
	for _, m := range cfg.Schema.Models {
		c.byName[m.Name] = m
	}
	return c, nil
}

// Mount registers the console's routes on mux: GET / (the page),
// /console/assets/ and /console/api/.
func (c *Console) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.servePage)
	mux.Handle("GET /console/assets/", c.cacheAssets(c.assets))
	mux.HandleFunc("GET /console/api/config", c.serveConfig)
	mux.HandleFunc("GET /console/api/models", c.admin(c.serveModels))
	mux.HandleFunc("GET /console/api/records", c.admin(c.serveRecords))
	mux.HandleFunc("GET /console/api/history", c.admin(c.serveHistory))
	mux.HandleFunc("GET /console/api/clients", c.admin(c.serveClients))
	mux.HandleFunc("GET /console/api/conflicts", c.admin(c.serveConflicts))
	if c.cfg.DevToken != nil {
		mux.HandleFunc("POST /console/api/dev-token", c.serveDevToken)
	}
}

func (c *Console) servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	// Everything the page loads is its own: no CDN, no inline script.
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(c.index)
}

// cacheAssets lets browsers revalidate assets (their names are fixed).
func (c *Console) cacheAssets(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// admin wraps an API handler with the admin credential check.
func (c *Console) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := c.cfg.Admit(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Status: http.StatusUnauthorized, Message: err.Error()}
			}
			c.cfg.Logger.Info("console: request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "error", e.Message)
			writeError(w, e)
			return
		}
		c.cfg.Logger.Debug("console: request", "path", r.URL.Path, "who", who)
		h(w, r)
	}
}

func (c *Console) serveConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"devAuth":   c.cfg.DevToken != nil,
		"authModes": c.cfg.AuthModes,
		"graphql":   "/graphql",
		"realtime":  "/graphql/realtime",
	})
}

func (c *Console) serveClients(w http.ResponseWriter, r *http.Request) {
	var out []Client
	if c.cfg.Clients != nil {
		out = c.cfg.Clients()
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": nonNil(out)})
}

func (c *Console) serveConflicts(w http.ResponseWriter, r *http.Request) {
	var out []Conflict
	if c.cfg.Conflicts != nil {
		out = c.cfg.Conflicts()
	}
	writeJSON(w, http.StatusOK, map[string]any{"conflicts": nonNil(out)})
}

// devTokenTTL is how long a dev token is valid.
const devTokenTTL = 12 * time.Hour

func (c *Console) serveDevToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string   `json:"username"`
		Groups   []string `json:"groups"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		writeError(w, &Error{http.StatusBadRequest, "dev-token: the body must be JSON {\"username\": ..., \"groups\": [...]}: " + err.Error()})
		return
	}
	tok, claims, err := c.cfg.DevToken(req.Username, req.Groups)
	if err != nil {
		writeError(w, &Error{http.StatusBadRequest, "dev-token: " + err.Error()})
		return
	}
	c.cfg.Logger.Info("console: dev token issued", "username", req.Username, "groups", req.Groups, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "claims": claims})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]any{"error": e.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
