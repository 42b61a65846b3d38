package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// ErrUnauthorized means the server refused the request's credentials
// (HTTP 401 or 403), after the auth provider refreshed them once if it
// could, or that fresh credentials could not be had. The sync engine should
// wait for new credentials and resume; it is not a verdict on the mutation.
// Test with errors.Is.
//
// An @auth rule denying an authenticated caller is a different matter: it
// comes back as a *GraphQLError of type Unauthorized (see IsUnauthorized).
var ErrUnauthorized = errors.New("appsync client: credentials refused")

// ErrResponseTooLarge is wrapped by the *ResponseError returned when a
// response body exceeds the client's limit (WithMaxResponseBytes).
var ErrResponseTooLarge = errors.New("appsync client: response body exceeds the limit")

// errNoDocs is returned by the operations given no documents.
var errNoDocs = errors.New("appsync client: nil *ModelDocs (build them with Documents)")

// RetryableError is a failure the same request may get past later: a
// network error, an HTTP 5xx or 429, or a throttling GraphQL error. The
// client never retries by itself; the engine does, with Backoff.
type RetryableError struct {
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// RetryAfter is the server's Retry-After, 0 when it sent none.
	RetryAfter time.Duration
	// Errors are the GraphQL errors of the response, if it had any.
	Errors []*appsync.Error
	// Err is the network error, when there was one.
	Err error
}

// Error implements error.
func (e *RetryableError) Error() string {
	var b strings.Builder
	b.WriteString("appsync client: retryable: ")
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.StatusCode != 0:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if len(e.Errors) > 0 {
			b.WriteString(": " + e.Errors[0].Error())
		}
	case len(e.Errors) > 0:
		b.WriteString(e.Errors[0].Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the network error.
func (e *RetryableError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is or wraps a *RetryableError and returns
// it.
func IsRetryable(err error) (*RetryableError, bool) {
	var r *RetryableError
	ok := errors.As(err, &r)
	return r, ok
}

// GraphQLError is a response whose errors array is not empty: the server
// understood the request and refused or partly failed it. Retrying the
// same request will not help, except after a conflict with a new _version.
type GraphQLError struct {
	// StatusCode is the HTTP status (200 for resolver errors and for
	// documents that fail validation, 400 for documents that do not
	// parse or exceed the server's limits).
	StatusCode int
	// Errors are the response's errors, in order; never empty.
	Errors []*appsync.Error
	// Data is the root field's value when the response carried one with
	// the errors (a partial result), or nil.
	Data json.RawMessage
}

// Error implements error.
func (e *GraphQLError) Error() string {
	msg := "appsync client: " + e.Errors[0].Error()
	if len(e.Errors) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(e.Errors)-1)
	}
	return msg
}

// Find returns the first error of the given errorType.
func (e *GraphQLError) Find(errorType string) (*appsync.Error, bool) {
	for _, x := range e.Errors {
		if x.ErrorType == errorType {
			return x, true
		}
	}
	return nil, false
}

// ResponseError is a response the client could not use: not JSON, not a
// GraphQL response, missing the root field, an unexpected HTTP status, or
// larger than the client's limit.
type ResponseError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Reason says what was wrong.
	Reason string
	// Err is the underlying decoding error or ErrResponseTooLarge.
	Err error
}

// Error implements error.
func (e *ResponseError) Error() string {
	msg := fmt.Sprintf("appsync client: unusable response (HTTP %d): %s", e.StatusCode, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ResponseError) Unwrap() error { return e.Err }

// graphQLErrorOf returns err's *GraphQLError.
func graphQLErrorOf(err error) (*GraphQLError, bool) {
	var g *GraphQLError
	ok := errors.As(err, &g)
	return g, ok
}

func findType(err error, types ...string) (*appsync.Error, bool) {
	g, ok := graphQLErrorOf(err)
	if !ok {
		return nil, false
	}
	for _, t := range types {
		if e, ok := g.Find(t); ok {
			return e, true
		}
	}
	return nil, false
}

// IsConflict reports whether err is a ConflictUnhandled error: the
// mutation's _version was stale and the server's strategy rejected it. The
// returned error's Data is the server's current item (a map[string]any with
// numbers as json.Number), which carries the _version to retry with.
func IsConflict(err error) (*appsync.Error, bool) {
	return findType(err, appsync.ConflictUnhandled)
}

// IsConditionFailed reports whether err is a failed condition: the
// mutation's condition did not hold, a create named an existing key, or an
// update or delete named a missing one.
func IsConditionFailed(err error) (*appsync.Error, bool) {
	return findType(err, appsync.ConditionalCheck)
}

// IsUnauthorized reports whether err is a GraphQL error of type
// Unauthorized or UnauthorizedException: an authenticated caller that an
// @auth rule does not allow. That does not pass with time or new
// credentials; refused credentials are ErrUnauthorized instead.
func IsUnauthorized(err error) (*appsync.Error, bool) {
	return findType(err, appsync.Unauthorized, appsync.UnauthorizedExc)
}

// IsThrottling reports whether errorType means the server is shedding
// load (AppSync's own types and those of DynamoDB data sources); the
// client reports such errors as a *RetryableError.
func IsThrottling(errorType string) bool {
	switch errorType {
	case appsync.LimitExceeded, "ThrottlingException", "TooManyRequestsException",
		"DynamoDB:ProvisionedThroughputExceededException", "DynamoDB:ThrottlingException",
		"DynamoDB:RequestLimitExceeded":
		return true
	}
	return false
}
