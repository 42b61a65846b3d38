package serve

import (
	"net/http"
	"strings"

	"github.com/dsgen/dsgen/internal/serve/realtime"
)

// CORS on /graphql, so that a web app served from another origin (an
// Amplify DataStore app on http://localhost:3000, or its own host) can call
// the API, as it can AppSync's. AppSync answers every origin; so does dsgen
// by default, and Config.CORSOrigins restricts it to a list. Credentials
// travel in headers the page sets (x-api-key, authorization), never in
// cookies: Access-Control-Allow-Credentials is never sent.
//
// The errors net/http writes itself before any handler runs (431 for a
// head over http.Server.MaxHeaderBytes, 400 for a malformed request, 501,
// 505) go straight to the connection, with no hook to add headers: a page
// sees them as a failed fetch. Answering them here instead would mean
// reading heads ourselves, with a cap below net/http's that a browser
// could meet, for requests browsers do not send (malformed) or cannot
// build for this API (a head over 1 MiB: dsgen sets no cookies), so they
// are left as they are.

// Private Network Access: Chromium may send a page's request to a server
// on a more private network than the page's own (a public site calling a
// dsgen serve on a private address or loopback) only after a preflight
// carrying "Access-Control-Request-Private-Network: true" is answered
// "Access-Control-Allow-Private-Network: true", even for a request that
// needs no preflight otherwise (its preflight may then list no headers).
// dsgen answers it for the origins it allows: its API needs credentials
// from any caller, so opening it to pages elsewhere is what CORS already
// decided. Chromium has put enforcement on hold in favour of asking the
// user (Local Network Access), which needs nothing from the server.
const (
	pnaRequest = "Access-Control-Request-Private-Network"
	pnaAllow   = "Access-Control-Allow-Private-Network"
)

// corsAllowHeaders are the request headers a preflight is answered for
// when it does not list acceptable ones: AppSync's list, which covers
// Amplify's API key, Cognito/OIDC and IAM requests.
const corsAllowHeaders = "Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-Content-Sha256,X-Amz-User-Agent"

// corsMaxAge is how long a browser may cache a preflight's answer, in
// seconds (browsers cap it: Chromium at 2 hours, Firefox at 24).
const corsMaxAge = "86400"

// maxRequestHeaders bounds an Access-Control-Request-Headers value echoed
// back.
const maxRequestHeaders = 1024

// corsOrigin returns the Access-Control-Allow-Origin value for a request
// from origin to host, "" when none is due: "*" when any origin may call
// (no CORSOrigins), origin itself when the list allows it, "" when it does
// not or there is no Origin (not a browser's cross-origin call, nothing to
// allow).
func (s *Server) corsOrigin(origin, host string) string {
	switch {
	case origin == "":
		return ""
	case len(s.cfg.CORSOrigins) == 0:
		return "*"
	case realtime.OriginAllowed(s.cfg.CORSOrigins, origin, host):
		return origin
	}
	return ""
}

// setCORS adds the CORS headers of an actual (not preflight) /graphql
// response to h and reports whether the request's origin may call.
func (s *Server) setCORS(h http.Header, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.cfg.CORSOrigins) > 0 && origin != "" {
		// The answer depends on the origin: caches must keep them apart.
		h.Add("Vary", "Origin")
	}
	allow := s.corsOrigin(origin, r.Host)
	if allow == "" {
		return origin == ""
	}
	h.Set("Access-Control-Allow-Origin", allow)
	// A 503 says when to retry: the page may read it.
	h.Set("Access-Control-Expose-Headers", "Retry-After")
	return true
}

// servePreflight answers OPTIONS /graphql. A browser's preflight from an
// allowed origin gets 204 with the methods and headers it may use (and
// the private network, when it asks); one from
// a refused origin gets 403 without CORS headers (the browser then blocks
// the call); an OPTIONS without Origin gets 204 and Allow.
func (s *Server) servePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "OPTIONS, POST")
	origin := r.Header.Get("Origin")
	if len(s.cfg.CORSOrigins) > 0 && origin != "" {
		h.Add("Vary", "Origin")
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Add("Vary", pnaRequest)
	allow := s.corsOrigin(origin, r.Host)
	if origin != "" && allow == "" {
		s.log.Info("CORS preflight refused", "remote", r.RemoteAddr, "origin", origin)
		http.Error(w, "this origin may not call /graphql (see --cors-origin)", http.StatusForbidden)
		return
	}
	if allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", allowHeaders(r.Header.Values("Access-Control-Request-Headers")))
		h.Set("Access-Control-Max-Age", corsMaxAge)
		if r.Header.Get(pnaRequest) == "true" {
			h.Set(pnaAllow, "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowHeaders is the Access-Control-Allow-Headers value answering the
// Access-Control-Request-Headers values req: the headers asked for when
// they are all well-formed names (any header is fine: credentials are
// headers the page sets itself), else AppSync's fixed list.
func allowHeaders(req []string) string {
	v := strings.Join(req, ",")
	if v == "" || len(v) > maxRequestHeaders {
		return corsAllowHeaders
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" || !validFieldName([]byte(name)) {
			return corsAllowHeaders
		}
	}
	return v
}
