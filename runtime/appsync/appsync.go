// Package appsync holds the AppSync wire shapes shared by the sync client and
// `dsgen serve`: GraphQL requests and responses over HTTP, AppSync's error
// types, and the messages of the real-time WebSocket protocol (sub-protocol
// "graphql-ws"). Both sides use these types so they cannot drift apart.
//
// The shapes follow what the real Amplify JavaScript client sends and reads;
// the interoperability suite (interop/ at the module root) runs that client
// against `dsgen serve`.
package appsync

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Request is a GraphQL request as POSTed to /graphql, and as carried in the
// data string of a real-time start message.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
}

// Response is a GraphQL response: data and errors, either may be absent.
type Response struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []*Error        `json:"errors,omitempty"`
}

// Location is a position in a GraphQL document, 1-based.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error is one GraphQL error in AppSync's shape: message, errorType and,
// for conflicts, the server's current item in Data.
type Error struct {
	Message   string     `json:"message"`
	ErrorType string     `json:"errorType,omitempty"`
	Data      any        `json:"data,omitempty"`
	ErrorInfo any        `json:"errorInfo,omitempty"`
	Path      []any      `json:"path,omitempty"`
	Locations []Location `json:"locations,omitempty"`
	// ErrorCode is set on real-time connection errors (401, 400...).
	ErrorCode int `json:"errorCode,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.ErrorType == "" {
		return e.Message
	}
	return e.ErrorType + ": " + e.Message
}

// Errorf returns an *Error of the given type.
func Errorf(errorType, format string, args ...any) *Error {
	return &Error{ErrorType: errorType, Message: fmt.Sprintf(format, args...)}
}

// ErrorList returns errs as a []error: what an Unwrap() []error method or
// errors.Join takes.
func ErrorList(errs []*Error) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// AsError returns err as an *Error when it is or wraps one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// AppSync's errorType values that clients branch on.
const (
	ConflictUnhandled    = "ConflictUnhandled"
	ConflictError        = "ConflictError"
	MaxConflicts         = "MaxConflicts"
	BadRequest           = "BadRequest"
	DeltaSyncWriteError  = "DeltaSyncWriteError"
	InternalFailure      = "InternalFailure"
	UnsupportedOperation = "UnsupportedOperation"
	ConditionalCheck     = "DynamoDB:ConditionalCheckFailedException"
	DynamoDBException    = "DynamoDB:DynamoDbException"
	Unauthorized         = "Unauthorized"
	UnauthorizedExc      = "UnauthorizedException"
	ValidationError      = "ValidationError"
	MalformedHTTPRequest = "MalformedHttpRequestException"
	RequestTooLarge      = "RequestEntityTooLargeException"
	MaxSubscriptions     = "MaxSubscriptionsReachedError"
	LimitExceeded        = "LimitExceededError"
	BadRequestException  = "BadRequestException"
)

// Real-time message types (sub-protocol graphql-ws, AppSync flavour).
const (
	Subprotocol        = "graphql-ws"
	MsgConnectionInit  = "connection_init"
	MsgConnectionAck   = "connection_ack"
	MsgConnectionError = "connection_error"
	MsgKeepAlive       = "ka"
	MsgStart           = "start"
	MsgStartAck        = "start_ack"
	MsgData            = "data"
	MsgError           = "error"
	MsgStop            = "stop"
	MsgComplete        = "complete"
)

// Message is one real-time frame in either direction. Payload's shape
// depends on Type: StartPayload for start, ConnectionAckPayload for
// connection_ack, Response for data, ErrorPayload for error and
// connection_error.
type Message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// StartPayload is the payload of a start message. Data is a JSON string
// holding a Request; the authorization headers are repeated per
// subscription.
type StartPayload struct {
	Data       string          `json:"data"`
	Extensions StartExtensions `json:"extensions"`
}

// StartExtensions carries the per-subscription authorization headers.
type StartExtensions struct {
	Authorization map[string]string `json:"authorization,omitempty"`
}

// ConnectionAckPayload tells the client how long it may go without a
// keep-alive before it must reconnect.
type ConnectionAckPayload struct {
	ConnectionTimeoutMs int64 `json:"connectionTimeoutMs"`
}

// ErrorPayload is the payload of error and connection_error messages.
type ErrorPayload struct {
	Errors []*Error `json:"errors"`
}

// HeaderProtocolPrefix starts the sub-protocol that carries the connection's
// authorization headers as unpadded base64url JSON.
const HeaderProtocolPrefix = "header-"

// EncodeHeaderProtocol returns the "header-<base64url>" sub-protocol for the
// given authorization headers, as amplify-js v6 sends it.
func EncodeHeaderProtocol(h map[string]string) (string, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("appsync: encode auth headers: %w", err)
	}
	return HeaderProtocolPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeAuthHeaders decodes base64 JSON authorization headers, as found in a
// "header-" sub-protocol (base64url, unpadded) or in the header= query
// parameter (standard base64, padded). Both alphabets and paddings are
// accepted.
func DecodeAuthHeaders(s string) (map[string]string, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("appsync: auth headers are not base64: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("appsync: auth headers are not a JSON object: %w", err)
	}
	h := make(map[string]string, len(raw))
	for k, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("appsync: auth header %q is not a string", k)
		}
		h[k] = s
	}
	return h, nil
}

// RealtimeURL derives the WebSocket URL from a GraphQL endpoint the way
// amplify-js does: an AppSync host gets "appsync-realtime-api" in place of
// "appsync-api"; any other ("custom") endpoint gets "/realtime" appended.
// The scheme becomes wss for https; for http it becomes ws (amplify-js uses
// wss for both; plain ws is what a local dsgen serve without TLS speaks).
func RealtimeURL(endpoint string) string {
	u := endpoint
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	if strings.Contains(u, ".appsync-api.") && strings.HasSuffix(u, ".amazonaws.com/graphql") {
		return strings.Replace(u, ".appsync-api.", ".appsync-realtime-api.", 1)
	}
	return u + "/realtime"
}

// ReadBody reads an HTTP body rd to its end. A body whose length was
// declared (Content-Length, as dsgen serve, AppSync and the JS client send
// it) within limit is read into one buffer of that size: a sync page is
// hundreds of kilobytes, which io.ReadAll would copy through a dozen
// growing buffers. Past the declared length it keeps reading: the reader
// given (a LimitReader, MaxBytesReader) enforces the limit.
func ReadBody(rd io.Reader, declared, limit int64) ([]byte, error) {
	if declared <= 0 || declared > limit {
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, declared+1) // +1: EOF is seen without growing
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) { // more than declared: grow, rd's limit decides
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
