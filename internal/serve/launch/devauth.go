package launch

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/dsgen/dsgen/internal/serve"
	"github.com/dsgen/dsgen/internal/serve/auth"
)

// DevSecretFile is the file in the data directory holding the HS256 secret
// of --dev-auth when no --jwt-hs256-secret is given.
const DevSecretFile = "dev-jwt-secret"

// devAuth turns on dev identities: tokens are signed with
// --jwt-hs256-secret, or else with a secret kept in the data directory
// (random per process in memory or on PostgreSQL), which the server then
// also verifies with.
func (o *Options) devAuth(log *slog.Logger, cfg *serve.Config) error {
	if !o.DevAuth {
		return nil
	}
	cfg.DevAuth = true
	if cfg.Auth.JWT == nil {
		cfg.Auth.JWT = &auth.JWTConfig{Issuer: o.JWTIssuer, Audience: o.JWTAudience, UsernameClaim: o.JWTUsernameClaim, GroupsClaim: o.JWTGroupsClaim}
	}
	where := "--jwt-hs256-secret"
	if len(cfg.Auth.JWT.HS256Secret) == 0 {
		var err error
		if cfg.Auth.JWT.HS256Secret, where, err = devSecret(o.Data); err != nil {
			return fmt.Errorf("--dev-auth: %w", err)
		}
	}
	attrs := []any{"secret", where, "admin group", serve.ConsoleAdminGroup}
	if !loopback(o.Addr) {
		log.Warn("--dev-auth on a non-loopback address: anyone who reaches it can get a token for any user and group, admin included", append(attrs, "addr", o.Addr)...)
		return nil
	}
	log.Info("--dev-auth: the console at / hands out tokens for any user and group", attrs...)
	return nil
}

// ReadDevSecret returns the dev-identity secret serve --dev-auth keeps in
// the data directory dir (an error wrapping os.ErrNotExist when there is
// none), for dsgen token to sign with.
func ReadDevSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, DevSecretFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(s) < 32 {
		return nil, fmt.Errorf("%s: not a hex key of 32 bytes or more", path)
	}
	return s, nil
}

// devSecret reads or creates the dev secret in dir; with no dir, a random
// one for this process. where names it for the log.
func devSecret(dir string) (secret []byte, where string, err error) {
	if dir == "" {
		s := make([]byte, 32)
		_, err := rand.Read(s)
		return s, "random, this process only", err
	}
	path := filepath.Join(dir, DevSecretFile)
	if s, err := ReadDevSecret(dir); err == nil {
		return s, path, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(s)+"\n"), 0o600); err != nil {
		return nil, "", err
	}
	return s, path, nil
}

// loopback reports whether addr listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
