package rtclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrUnauthorized: the server refused the credentials (connection_error
	// or start error with code 401/403 or an Unauthorized errorType, or an
	// HTTP 401/403 on the upgrade). Retrying with the same credentials is
	// pointless; refresh them first.
	ErrUnauthorized = errors.New("rtclient: unauthorized")
	// ErrKeepAliveTimeout: no frame arrived within the connectionTimeoutMs
	// the server announced in connection_ack.
	ErrKeepAliveTimeout = errors.New("rtclient: keep-alive timeout")
	// ErrSlowConsumer: a subscription's event buffer was full when an event
	// arrived. The connection is failed instead of dropping the event, so
	// the caller reconnects and delta-syncs.
	ErrSlowConsumer = errors.New("rtclient: slow consumer")
	// ErrTimeout: connection_ack or start_ack did not arrive in time.
	ErrTimeout = errors.New("rtclient: timeout")
	// ErrClosed: the connection was closed by Close.
	ErrClosed = errors.New("rtclient: connection closed")
	// ErrProtocol: the server sent a frame that breaks the protocol
	// (not JSON, binary, a data payload with several root fields).
	ErrProtocol = errors.New("rtclient: protocol violation")
)

// ConnectionError is a connection_error frame: the server refused the
// connection (typically its authorization).
type ConnectionError struct {
	Errors []*appsync.Error
}

// Error implements error.
func (e *ConnectionError) Error() string {
	return "rtclient: connection_error: " + joinErrors(e.Errors)
}

// Unwrap exposes the server's errors to errors.As and appsync.AsError.
func (e *ConnectionError) Unwrap() []error { return appsync.ErrorList(e.Errors) }

// Is makes errors.Is(err, ErrUnauthorized) true for authorization failures.
func (e *ConnectionError) Is(target error) bool {
	return target == ErrUnauthorized && unauthorized(e.Errors)
}

// Retryable reports whether reconnecting with the same configuration may
// succeed: amplify-js gives up on codes 400, 401 and 403 and on the types
// BadRequestException and UnauthorizedException.
func (e *ConnectionError) Retryable() bool {
	for _, x := range e.Errors {
		switch x.ErrorCode {
		case 400, 401, 403:
			return false
		}
		switch x.ErrorType {
		case appsync.BadRequestException, appsync.UnauthorizedExc, appsync.Unauthorized:
			return false
		}
	}
	return true
}

// SubscribeError is an error frame answering a start: the subscription was
// not registered (invalid document, no permission, too many
// subscriptions), or, after start_ack, the server ended it.
type SubscribeError struct {
	ID     string
	Errors []*appsync.Error
}

// Error implements error.
func (e *SubscribeError) Error() string {
	return fmt.Sprintf("rtclient: subscription %s: %s", e.ID, joinErrors(e.Errors))
}

// Unwrap exposes the server's errors to errors.As and appsync.AsError.
func (e *SubscribeError) Unwrap() []error { return appsync.ErrorList(e.Errors) }

// Is makes errors.Is(err, ErrUnauthorized) true for authorization failures.
func (e *SubscribeError) Is(target error) bool {
	return target == ErrUnauthorized && unauthorized(e.Errors)
}

// CloseError reports that the server closed the connection with a close
// frame.
type CloseError struct {
	Code   int
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("rtclient: server closed the connection with status %d", e.Code)
	}
	return fmt.Sprintf("rtclient: server closed the connection with status %d: %s", e.Code, e.Reason)
}

func unauthorized(errs []*appsync.Error) bool {
	for _, x := range errs {
		if x.ErrorCode == 401 || x.ErrorCode == 403 ||
			x.ErrorType == appsync.UnauthorizedExc || x.ErrorType == appsync.Unauthorized {
			return true
		}
	}
	return false
}

func joinErrors(errs []*appsync.Error) string {
	if len(errs) == 0 {
		return "no error detail"
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}
