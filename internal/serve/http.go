package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/gqlexec"
	"github.com/dsgen/dsgen/runtime/appsync"
)

// serveGraphQL answers POST /graphql: it reads the body and hands it to
// answerGraphQL. The connections the fast path (fastpath.go) serves reach
// answerGraphQL without net/http; everything else comes here, browsers'
// requests (with an Origin) included: they get CORS headers (cors.go) on
// every answer, and OPTIONS (a preflight) is answered here.
func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		s.servePreflight(w, r)
		return
	}
	start := time.Now()
	fail := func(status int, e ...*appsync.Error) {
		writeErrors(w, status, e...)
		s.metrics.request(opUnknown, e, time.Since(start))
	}
	if !s.setCORS(w.Header(), r) {
		// The browser would not let the page read the answer; the
		// request is not executed either.
		s.log.Info("request refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		fail(http.StatusForbidden, appsync.Errorf(appsync.UnauthorizedExc,
			"origin %s may not call this API", r.Header.Get("Origin")))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "OPTIONS, POST")
		fail(http.StatusMethodNotAllowed, appsync.Errorf(appsync.BadRequestException,
			"%s /graphql is not supported: POST a JSON GraphQL request", r.Method))
		return
	}
	body, err := appsync.ReadBody(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), r.ContentLength, s.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(http.StatusRequestEntityTooLarge, appsync.Errorf(appsync.RequestTooLarge,
				"request body exceeds the limit of %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			fail(http.StatusRequestTimeout, appsync.Errorf(appsync.MalformedHTTPRequest,
				"the request body did not arrive within %v", s.cfg.ReadTimeout))
			return
		}
		fail(http.StatusBadRequest, appsync.Errorf(appsync.MalformedHTTPRequest, "reading the request body: %v", err))
		return
	}
	a := s.answerGraphQL(r.Context(), start, body, lowerHeaders(r.Header), signedRequest(r, body), r.RemoteAddr)
	if a.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	writeBody(w, a.status, a.body)
	s.releaseAnswer(&a)
}

// gqlAnswer is the answer to one GraphQL request, for either front end to
// write: net/http's (serveGraphQL) or the fast path's.
type gqlAnswer struct {
	status int
	// retryAfter asks for "Retry-After: 1" (a 503 for an outage).
	retryAfter bool
	body       []byte
	// bufp is the pooled buffer body lives in, if it does.
	bufp *[]byte
}

// releaseAnswer returns a's buffer to the pool once its body is written.
func (s *Server) releaseAnswer(a *gqlAnswer) {
	if a.bufp != nil && cap(a.body) <= maxPooledResponse {
		*a.bufp = a.body[:0]
		s.respBufs.Put(a.bufp)
	}
	a.bufp, a.body = nil, nil
}

// answerGraphQL decodes a GraphQL request body, authenticates the caller
// (creds holds the lower-cased credential headers, lowerHeaders), validates
// the document against the API and executes it. signed is the whole
// request when it carries a SigV4 signature (AWS_IAM), which covers more
// than the credential headers; nil otherwise. parent is the request's
// context, start when it arrived (the work stops at start+WriteTimeout)
// and remote the client's address, for logs.
func (s *Server) answerGraphQL(parent context.Context, start time.Time, body []byte, creds map[string]string, signed *auth.SignedRequest, remote string) (a gqlAnswer) {
	// op and errs label the request's metrics: op is the root field once
	// the document is read.
	op := opUnknown
	var errs []*appsync.Error
	defer func() { s.metrics.request(op, errs, time.Since(start)) }()
	fail := func(status int, e ...*appsync.Error) gqlAnswer {
		errs = e
		return errorAnswer(status, &appsync.Response{Errors: e})
	}
	// The work stops when the response could no longer be written.
	ctx, cancel := withLazyDeadline(parent, start.Add(s.cfg.WriteTimeout))
	defer cancel()
	req, err := decodeRequest(body, s.names, &s.queries)
	if err != nil {
		return fail(http.StatusBadRequest, appsync.Errorf(appsync.MalformedHTTPRequest, "%v", err))
	}
	var id *auth.Identity
	if signed != nil {
		id, err = s.authn.AuthenticateSigned(ctx, *signed)
	} else {
		id, err = s.authn.AuthenticateRequest(ctx, creds, requestInfo(req))
	}
	if err != nil {
		ae, ok := appsync.AsError(err)
		if !ok {
			ae = appsync.Errorf(appsync.UnauthorizedExc, "%v", err)
		}
		s.log.Info("request refused", "remote", remote, "error", ae.Message)
		if ae.ErrorType == auth.ErrorTypeUnavailable {
			// The Lambda authorizer webhook gave no answer: not a verdict
			// on the token, so clients keep the request and retry.
			a = fail(http.StatusServiceUnavailable, ae)
			a.retryAfter = true
			return a
		}
		return fail(http.StatusUnauthorized, ae)
	}
	prepared, refused := s.exec.PrepareRequest(req)
	if refused != nil {
		s.log.Info("invalid request", "remote", remote, "error", refused.Errors[0].Message)
		if refused.Malformed {
			return fail(http.StatusBadRequest, refused.Errors...)
		}
		// A document that parsed but is invalid (a validation rule, the
		// operation or its variables) is answered as AppSync answers it:
		// 200 with "data": null. Amplify clients read the errors of a 2xx
		// answer; a 4xx reaches their callers as "Unknown error".
		errs = refused.Errors
		return errorAnswer(http.StatusOK, &appsync.Response{Data: json.RawMessage(jsonNull), Errors: refused.Errors})
	}
	op = opLabel(prepared)
	if prepared.Kind == "subscription" {
		return fail(http.StatusBadRequest, appsync.Errorf(appsync.UnsupportedOperation,
			"subscriptions are served over WebSocket at /graphql/realtime"))
	}
	if prepared.Kind == "mutation" {
		s.writes.Add(1)
		defer s.writes.Done()
	}
	bufp, _ := s.respBufs.Get().(*[]byte)
	if bufp == nil {
		bufp = new([]byte)
	}
	resp, out := s.exec.ExecuteAppend(ctx, prepared, &resolver{s: s, id: id}, append((*bufp)[:0], dataPrefix...))
	errs = resp.Errors
	a = gqlAnswer{status: http.StatusOK, bufp: bufp}
	for _, e := range resp.Errors {
		if e != nil && e.ErrorType == errUnavailable {
			// A database outage is not a verdict on the request: 503
			// makes clients (Amplify, dsgen's engine) keep it and retry.
			a.status, a.retryAfter = http.StatusServiceUnavailable, true
			break
		}
	}
	if len(resp.Errors) == 0 && len(out) == len(dataPrefix)+len(resp.Data) {
		// The data follows the prefix in out: the body is out, closed.
		a.body = append(out, '}')
	} else {
		// The data may be elsewhere, or followed by errors: the body is
		// encoded anew and out (which the data may be part of) goes back
		// to the pool after.
		if len(resp.Errors) == 0 && len(resp.Data) > 0 {
			// A response without errors is its data, which the executor
			// wrote as compact JSON already: wrapping it saves
			// encoding/json re-scanning it.
			a.body = append(append(append(make([]byte, 0, len(resp.Data)+len(dataPrefix)+1), dataPrefix...), resp.Data...), '}')
		} else {
			e := errorAnswer(a.status, resp)
			a.status, a.body = e.status, e.body
		}
		if cap(out) <= maxPooledResponse {
			*bufp = out[:0]
			s.respBufs.Put(bufp)
		}
		a.bufp = nil
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("request", "op", prepared.Kind, "name", prepared.Name, "fields", rootFields(prepared), "errors", len(resp.Errors), "took", time.Since(start))
	}
	return a
}

// decodeRequest parses a GraphQL request body. Numbers in variables stay
// json.Number so integers keep their exact value. The usual body is read by
// decodeRequestFast (names and qc as it takes them); the rest by
// encoding/json.
func decodeRequest(body []byte, names map[string]string, qc *queryCache) (appsync.Request, error) {
	var req appsync.Request
	if len(bytes.TrimSpace(body)) == 0 {
		return req, errors.New("empty request body: want a JSON object with a query")
	}
	req, ok := decodeRequestFast(body, names, qc)
	if !ok {
		// Anything the fast decoder leaves, errors included, is decoded
		// as it always was.
		req = appsync.Request{}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			return req, fmt.Errorf("request body is not a GraphQL JSON request: %v", err)
		}
		if dec.More() {
			return req, errors.New("request body holds more than one JSON value")
		}
	}
	if strings.TrimSpace(req.Query) == "" {
		return req, errors.New(`request has no "query"`)
	}
	return req, nil
}

// opLabel is the metrics label of op: its one root field's name, or
// opOther (only fragments at the root) or opMultiple.
func opLabel(op *gqlexec.Operation) string {
	label, n := opOther, 0
	for _, sel := range op.Def.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			if n++; n > 1 {
				return opMultiple
			}
			label = f.Name
		}
	}
	return label
}

// rootFields names the root fields of op, for logs.
func rootFields(op *gqlexec.Operation) []string {
	var names []string
	for _, sel := range op.Def.SelectionSet {
		if f, ok := sel.(*ast.Field); ok {
			names = append(names, f.Name)
		}
	}
	return names
}

// lowerHeaders returns the credential headers auth reads (authorization and
// x-api-key), lower-cased as it expects. Only those two are copied: a
// request's other headers cost a map entry each for nothing.
func lowerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, 2)
	for _, k := range [...]struct{ canon, lower string }{{"Authorization", "authorization"}, {"X-Api-Key", "x-api-key"}} {
		if v := h[k.canon]; len(v) > 0 {
			out[k.lower] = v[0]
		}
	}
	return out
}

// signedRequest returns r as its SigV4 signature covers it, when its
// Authorization header is one (AWS_IAM); nil otherwise.
func signedRequest(r *http.Request, body []byte) *auth.SignedRequest {
	if !strings.HasPrefix(strings.TrimSpace(r.Header.Get("Authorization")), appsync.SigV4Algorithm+" ") {
		return nil
	}
	h := make(map[string]string, len(r.Header)+1)
	for k, vs := range r.Header {
		h[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	h["host"] = r.Host
	return &auth.SignedRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: h, Body: body}
}

// dataPrefix opens a response body without errors; the executor writes
// the data after it.
const dataPrefix = `{"data":`

// jsonNull is the data of an answer to an invalid document.
const jsonNull = "null"

// maxPooledResponse is the largest response buffer kept for reuse: one
// that a rare huge response grew is left to the garbage collector.
const maxPooledResponse = 4 << 20

func writeErrors(w http.ResponseWriter, status int, errs ...*appsync.Error) {
	writeJSON(w, status, &appsync.Response{Errors: errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// A response without errors is its data, which the executor wrote as
	// compact JSON already: wrapping it saves encoding/json re-scanning it.
	// It is written in three pieces into the ResponseWriter's buffer
	// rather than copied into one slice first.
	if r, ok := v.(*appsync.Response); ok && len(r.Errors) == 0 && len(r.Data) > 0 {
		writeHead(w, status, len(`{"data":}`)+len(r.Data))
		_, _ = io.WriteString(w, `{"data":`)
		_, _ = w.Write(r.Data)
		_, _ = io.WriteString(w, `}`)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"errorType":"InternalFailure","message":"encoding the response failed"}]}`)
	}
	writeBody(w, status, b)
}

// errorAnswer is the answer holding resp encoded by encoding/json (an
// InternalFailure if it cannot be).
func errorAnswer(status int, resp *appsync.Response) gqlAnswer {
	b, err := json.Marshal(resp)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"errorType":"InternalFailure","message":"encoding the response failed"}]}`)
	}
	return gqlAnswer{status: status, body: b}
}

// jsonContentType is the Content-Type of every /graphql answer, on both
// front ends (writeHead, and the fast path's appendHead).
const jsonContentType = "application/json; charset=UTF-8"

func writeBody(w http.ResponseWriter, status int, b []byte) {
	writeHead(w, status, len(b))
	_, _ = w.Write(b)
}

// writeHead writes the status and the headers of a JSON body of size bytes.
func writeHead(w http.ResponseWriter, status, size int) {
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(status)
}

// identityFor is a helper for the real-time backend: it authenticates
// authorization headers (info is the request a Lambda authorizer is told
// about).
func (s *Server) identityFor(ctx context.Context, h map[string]string, info auth.RequestInfo) (*auth.Identity, error) {
	lower := make(map[string]string, len(h))
	for k, v := range h {
		lower[strings.ToLower(k)] = v
	}
	return s.authn.AuthenticateRequest(ctx, lower, info)
}

// requestInfo is the request a Lambda authorizer is told about.
func requestInfo(req appsync.Request) auth.RequestInfo {
	return auth.RequestInfo{Query: req.Query, OperationName: req.OperationName, Variables: req.Variables}
}
