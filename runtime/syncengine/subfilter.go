package syncengine

import (
	"fmt"

	"github.com/dsgen/dsgen/runtime/appsync/filter"
)

// Selective sync of subscription events, as Amplify does it: a model's
// sync expression also filters its subscriptions, so records created or
// changed elsewhere that it does not match do not arrive while connected.
// The backend filters them when it can (the subscription's filter
// argument, ModelSubscription<T>FilterInput); the engine filters every
// event again itself, for what the backend cannot filter: an expression
// the subscription filter input cannot express (not, attributeExists,
// attributeType, size), a backend that refuses the filter (AppSync's
// limits on subscription filters), and transformer v1 APIs, whose
// subscriptions take no filter.

// subscriptionOp reports whether op is an operator of AppSync's
// ModelSubscription*Input types (ModelSubscriptionStringInput has them
// all).
func subscriptionOp(op string) bool {
	switch op {
	case "eq", "ne", "le", "lt", "ge", "gt", "contains", "notContains", "between", "beginsWith", "in", "notIn":
		return true
	}
	return false
}

// subscriptionFilter returns f as a subscription filter input, or nil when
// that input type cannot express it.
func subscriptionFilter(f map[string]any) map[string]any {
	if len(f) == 0 || !subscribable(f) {
		return nil
	}
	return f
}

// subscribable reports whether the filter object f uses only and, or and
// the subscription operators.
func subscribable(f map[string]any) bool {
	for k, v := range f {
		switch k {
		case "and", "or":
			list, ok := v.([]any)
			if !ok {
				return false
			}
			for _, x := range list {
				o, ok := x.(map[string]any)
				if !ok || !subscribable(o) {
					return false
				}
			}
		case "not":
			return false
		default:
			ops, ok := v.(map[string]any)
			if !ok {
				return false
			}
			for op := range ops {
				if !subscriptionOp(op) {
					return false
				}
			}
		}
	}
	return true
}

// eventFilter is what the engine knows of one model's event filtering in a
// session: the filter sent with its subscriptions (nil: none), and the
// compiled expression every event must match (nil: every event applies).
type eventFilter struct {
	sent  map[string]any
	match *filter.Filter
}

// eventFilter evaluates model's sync expression for this session's
// subscriptions, as the JSON the sync query sends (a SyncFilter may hold
// Go-typed slices and maps). A v1 API's subscriptions take no filter
// argument. An expression that does not compile filters no events: the
// sync query, which sends it too, reports it.
func (e *Engine) eventFilter(model string) (eventFilter, error) {
	f, text, err := e.syncFilter(model)
	if err != nil || f == nil {
		return eventFilter{}, err
	}
	var sent map[string]any
	if err := unmarshalNumbers([]byte(text), &sent); err != nil {
		return eventFilter{}, fmt.Errorf("syncengine: sync expression of %s: %w", model, err)
	}
	match, err := filter.Compile(sent)
	if err != nil {
		e.log.Warn("the sync expression is not a valid filter; subscription events are not filtered", "model", model, "error", err)
		return eventFilter{}, nil
	}
	ef := eventFilter{match: match}
	if !e.v1 {
		ef.sent = subscriptionFilter(sent)
	}
	return ef, nil
}
