package store

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown", fmt.Errorf("store: mutate: write: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, true},
		{"network", fmt.Errorf("x: %w", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"not found", fmt.Errorf("store: get: %w", ErrNotFound), false},
		{"closed store", ErrClosed, false},
		{"nil", nil, false},
	} {
		if got := Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
