package filter

import (
	"fmt"
	"slices"
)

// AppSync's limits on a subscription's filter argument (its enhanced
// subscription filtering, which the filter argument of Amplify's generated
// subscriptions becomes): the filter, written as an OR of AND groups, has
// at most MaxSubscriptionGroups groups of at most MaxSubscriptionFields
// distinct fields each, and in or notIn at most MaxSubscriptionInValues
// values. They bound what one subscription costs for every event the
// server publishes.
const (
	MaxSubscriptionGroups   = 10
	MaxSubscriptionFields   = 5
	MaxSubscriptionInValues = 5
)

// LimitError reports a subscription filter over AppSync's limits, in
// AppSync's words: Amplify DataStore recognises them and subscribes again
// without the filter, filtering events itself.
type LimitError struct {
	Msg string
}

// Error implements error.
func (e *LimitError) Error() string { return e.Msg }

// CheckSubscriptionLimits returns a *LimitError when filter (a
// ModelSubscription<T>FilterInput value, already valid) is over AppSync's
// limits on a subscription filter. Empty and null parts add no condition,
// as in Compile.
func CheckSubscriptionLimits(filter map[string]any) error {
	groups, err := dnf(filter)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if len(g) > MaxSubscriptionFields {
			return &LimitError{Msg: fmt.Sprintf("Filters exceed maximum attributes limit %d for subscription.", MaxSubscriptionFields)}
		}
	}
	return nil
}

// dnf returns obj as an OR of AND groups, each the set of fields it
// tests, refusing more than MaxSubscriptionGroups groups and in or notIn
// lists longer than MaxSubscriptionInValues. An object with no condition
// is one empty group.
func dnf(obj map[string]any) ([][]string, error) {
	groups := [][]string{nil}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		if v == nil {
			continue
		}
		var part [][]string
		switch k {
		case "and", "or":
			list, _ := anyList(v)
			if k == "and" {
				part = [][]string{nil}
			}
			for _, x := range list {
				o, _ := x.(map[string]any)
				sub, err := dnf(o)
				if err != nil {
					return nil, err
				}
				if k == "and" {
					if part, err = product(part, sub); err != nil {
						return nil, err
					}
					continue
				}
				if part = append(part, sub...); len(part) > MaxSubscriptionGroups {
					return nil, tooManyGroups()
				}
			}
			if len(part) == 0 {
				continue // an empty or adds no condition
			}
		case "not":
			// Not a subscription filter operator: validation refuses it.
			continue
		default:
			ops, _ := v.(map[string]any)
			for _, op := range []string{"in", "notIn"} {
				if l, ok := anyList(ops[op]); ok && len(l) > MaxSubscriptionInValues {
					return nil, &LimitError{Msg: fmt.Sprintf("subscription exceeds maximum value limit %d for operator `%s`.", MaxSubscriptionInValues, op)}
				}
			}
			part = [][]string{{k}}
		}
		var err error
		if groups, err = product(groups, part); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

// product ANDs two ORs of groups: every group of a with every group of b.
func product(a, b [][]string) ([][]string, error) {
	if len(a)*len(b) > MaxSubscriptionGroups {
		return nil, tooManyGroups()
	}
	out := make([][]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			g := slices.Clone(x)
			for _, f := range y {
				if !slices.Contains(g, f) {
					g = append(g, f)
				}
			}
			out = append(out, g)
		}
	}
	return out, nil
}

func tooManyGroups() error {
	return &LimitError{Msg: fmt.Sprintf("Filters combination exceed maximum limit %d for subscription.", MaxSubscriptionGroups)}
}
