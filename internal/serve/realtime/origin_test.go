package realtime_test

import (
	"testing"

	"github.com/dsgen/dsgen/internal/serve/realtime"
)

func TestOriginAllowed(t *testing.T) {
	list := []string{"localhost:3000", "*.Example.com", "https://app.test"}
	for _, c := range []struct {
		patterns     []string
		origin, host string
		want         bool
	}{
		{nil, "http://evil.test", "api:20002", true},
		{list, "", "api:20002", true},
		{list, "http://localhost:3000", "api:20002", true},
		{list, "https://localhost:3000", "api:20002", true},
		{list, "http://localhost:3001", "api:20002", false},
		{list, "https://a.example.com", "api:20002", true},
		{list, "https://A.EXAMPLE.COM", "api:20002", true},
		{list, "https://example.com", "api:20002", false},
		{list, "https://app.test", "api:20002", true},
		{list, "http://app.test", "api:20002", false},
		{list, "http://api:20002", "api:20002", true}, // same host
		{list, "null", "api:20002", false},
		{list, "::bad", "api:20002", false},
		{[]string{"*"}, "http://any.where:1", "api", true},
	} {
		if got := realtime.OriginAllowed(c.patterns, c.origin, c.host); got != c.want {
			t.Errorf("OriginAllowed(%q, %q, %q) = %v, want %v", c.patterns, c.origin, c.host, got, c.want)
		}
	}
}

func TestOriginPatternsValidated(t *testing.T) {
	if err := (realtime.Options{OriginPatterns: []string{"[a"}}).Validate(); err == nil {
		t.Error("Validate accepts the pattern [a")
	}
	if err := (realtime.Options{OriginPatterns: []string{"*.example.com", "http://localhost:*"}}).Validate(); err != nil {
		t.Error(err)
	}
}
