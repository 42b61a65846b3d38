package main

import (
	"errors"
	"flag"
	"fmt"
)

// What the command prints about a failure starts with "dsgen", once: "dsgen:
// " before the error a workflow returned (which carries its own package's
// prefix, "serve: ...", "migrate: ..."), or "dsgen <command>: " before a
// usage error, which exits with status 2.

// errUsage marks errors that should exit with status 2.
var errUsage = errors.New("usage")

// usageErr reports a bad flag value and exits with status 2.
func usageErr(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "dsgen serve: "+format+"\n", args...)
	return errUsage
}
