package schema

// validateScalar checks a literal against an AWS scalar's wire format.
func validateScalar(typ, v string) error {
	return nil // replaced once runtime/scalar lands
}
