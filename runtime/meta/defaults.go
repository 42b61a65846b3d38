package meta

import (
	"fmt"
	"strconv"
)

// DefaultValue converts text, a @default value as the schema writes it
// (always a string), to the JSON value of field f: an int64 for Int and
// AWSTimestamp, a float64 for Float, a bool for Boolean (true or false),
// and the text itself for every other type (strings, enums, AWS scalars,
// JSON). The client's store, dsgen serve and both migrators use it, so a
// default means the same everywhere.
func DefaultValue(f *Field, text string) (any, error) {
	if f.Kind != KindScalar {
		return text, nil
	}
	switch f.Type {
	case Int, AWSTimestamp:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("@default %q of %s is not an integer", text, f.Name)
		}
		return n, nil
	case Float:
		x, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("@default %q of %s is not a number", text, f.Name)
		}
		return x, nil
	case Boolean:
		switch text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("@default %q of %s is not a Boolean (true or false)", text, f.Name)
	}
	return text, nil
}
