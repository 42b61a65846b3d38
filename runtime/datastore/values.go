package datastore

import (
	"fmt"
)

// Assign stores value in *dst; generated field setters call it. value must
// have dst's type exactly.
func Assign[V any](dst *V, value any) error {
	v, ok := value.(V)
	if !ok {
		return fmt.Errorf("%w: got %T, want %T", ErrInvalidValue, value, *dst)
	}
	*dst = v
	return nil
}

// AssignPtr stores value in the nullable *dst: nil clears it, a V or *V sets
// it.
func AssignPtr[V any](dst **V, value any) error {
	switch v := value.(type) {
	case nil:
		*dst = nil
	case V:
		*dst = &v
	case *V:
		*dst = v
	default:
		var zero V
		return fmt.Errorf("%w: got %T, want %T", ErrInvalidValue, value, zero)
	}
	return nil
}

// UnknownField returns the error for a field model does not have.
func UnknownField(model, field string) error {
	return errorf("%s.%s: %w", model, field, ErrUnknownField)
}

// InvalidEnum returns the error for a string that is not a value of enum.
func InvalidEnum(enum, value, valid string) error {
	return fmt.Errorf("%w: %q is not a value of enum %s (%s)", ErrInvalidValue, value, enum, valid)
}
