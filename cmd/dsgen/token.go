package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dsgen/dsgen/internal/config"
	"github.com/dsgen/dsgen/internal/serve/auth"
	"github.com/dsgen/dsgen/internal/serve/launch"
)

const tokenSummary = `Prints a development JWT for a user name and groups, signed with the HS256
secret dsgen serve is given, so tests and scripts can act as any user:

  curl -H "authorization: $(dsgen token --user alice --groups admins)" ...

The secret, issuer, audience and claim names are read exactly as dsgen serve
reads them: the flags below, else DSGEN_SERVE_<FLAG> (DSGEN_SERVE_JWT_HS256_SECRET),
else the serve: section of dsgen.yml. Without a secret, it signs with the one
dsgen serve --dev-auth keeps in its data directory (--data). Anyone holding the secret can sign any
identity: use it for development only.`

// tokenServeFlags are the serve settings a token must match; dsgen token
// accepts them too, so one command line can name them for both.
var tokenServeFlags = []string{"jwt-hs256-secret", "data", "jwt-issuer", "jwt-audience", "jwt-username-claim", "jwt-groups-claim", "config"}

func tokenCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("token", tokenSummary, stderr)
	user := fs.String("user", "", "the user `name` (required): the username claim and, unless --sub, the sub")
	sub := fs.String("sub", "", "the \"sub\" `claim` (default: a UUID derived from the user name, as the console's dev identities)")
	var groups listFlag
	fs.Var(&groups, "groups", "`group`s of the user, comma-separated (repeatable)")
	expires := fs.Duration("expires", time.Hour, "how long the token is valid")
	// The serve settings, defined on a flag set of serve's own flags so
	// that the environment and dsgen.yml are read as serve reads them.
	var o launch.Options
	serve := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(serve, &o)
	usage := map[string]string{
		"jwt-hs256-secret":   "sign with this `secret`, dsgen serve's --jwt-hs256-secret",
		"jwt-issuer":         "the \"iss\" claim, dsgen serve's --jwt-issuer",
		"jwt-audience":       "the \"aud\" claim, dsgen serve's --jwt-audience",
		"jwt-username-claim": "the `claim` holding the user name, dsgen serve's --jwt-username-claim (default username and cognito:username)",
		"jwt-groups-claim":   "the `claim` holding the groups, dsgen serve's --jwt-groups-claim (default cognito:groups)",
		"data":               "dsgen serve's data `directory`: without an HS256 secret, sign with the dev-identity secret serve --dev-auth keeps there (default ./dsgen-data)",
		"config":             "settings `file` whose serve: section is read (default: the nearest dsgen.yml in the current directory or above)",
	}
	for _, name := range tokenServeFlags {
		fs.Var(serve.Lookup(name).Value, name, usage[name])
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		fmt.Fprintln(stderr, "dsgen token: --user is required")
		fs.Usage()
		return errUsage
	}
	fs.Visit(func(f *flag.Flag) { // mark as set on serve's command line
		if serve.Lookup(f.Name) != nil {
			_ = serve.Set(f.Name, f.Value.String())
		}
	})
	if _, err := config.Load(serve, serveSettings, os.LookupEnv); err != nil {
		return err
	}
	secret := []byte(o.JWTHS256Secret)
	if len(secret) == 0 {
		// serve --dev-auth without a secret signs with one it keeps in
		// the data directory, and verifies with it.
		dir := o.Data
		if dir == "" {
			dir = launch.DefaultDataDir
		}
		s, err := launch.ReadDevSecret(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("token: %w", err)
		}
		secret = s
	}
	if len(secret) == 0 {
		why := "dsgen serve is given no --jwt-hs256-secret (and --data holds no secret of serve --dev-auth)"
		if o.JWKS != "" || o.JWKSURL != "" {
			why = "dsgen serve verifies tokens with the public keys of a JWKS, which cannot sign; give it an HS256 secret as well (both are accepted)"
		}
		return fmt.Errorf("token: %s: set --jwt-hs256-secret, %s or jwt-hs256-secret in the serve: section of dsgen.yml, for both commands",
			why, serveSettings.EnvName("jwt-hs256-secret"))
	}
	tok, err := auth.MintHS256(secret, auth.DevIdentity{
		Username: *user, Sub: *sub, Groups: groups, Issued: time.Now(), TTL: *expires,
		Issuer: o.JWTIssuer, Audience: o.JWTAudience,
		UsernameClaim: o.JWTUsernameClaim, GroupsClaim: o.JWTGroupsClaim,
	})
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "auth: "))
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
