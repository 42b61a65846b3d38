package auth

import (
	"errors"

	"github.com/dsgen/dsgen/runtime/appsync"
)

// Two kinds of error leave the package. Configuration errors (New, the
// JWKS file and URL, Sign) read "auth: ..." once; the helpers they wrap
// (JWKS parsing, key checks, fetches) add no prefix. Errors about a request
// are *appsync.Error values, worded as AppSync words them for the client
// ("Not Authorized to access ..."), with no package prefix.

// errNoKeys says a JWKS holds nothing this server can verify with.
var errNoKeys = errors.New(`holds no RSA signing key (kty "RSA", RS256) and no EC signing key (kty "EC", crv "P-256", ES256)`)

// unauthorized returns the error of a failed authentication.
func unauthorized(format string, args ...any) *appsync.Error {
	return appsync.Errorf(appsync.UnauthorizedExc, format, args...)
}
