package client

import (
	"math/rand/v2"
	"time"
)

// Backoff paces retries: exponential growth from Base, capped at Max, with
// "equal jitter" so clients that failed together spread out while each
// still waits at least half the nominal delay. The zero value uses the
// defaults; a Backoff is safe for concurrent use if Rand is.
type Backoff struct {
	// Base is the nominal delay of attempt 0 (default 100 ms, as
	// amplify-js).
	Base time.Duration
	// Max caps the nominal delay (default 5 minutes, as amplify-js).
	Max time.Duration
	// Rand returns a number in [0, 1); nil means math/rand/v2.Float64.
	// Tests inject a fixed source.
	Rand func() float64
}

// Delay returns how long to wait before retry number attempt (0 for the
// first retry): a value in [d/2, d] where d = min(Max, Base·2^attempt).
func (b Backoff) Delay(attempt int) time.Duration {
	base, maxD := b.Base, b.Max
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if maxD <= 0 {
		maxD = 5 * time.Minute
	}
	if maxD < base {
		maxD = base
	}
	d := maxD
	if attempt < 0 {
		attempt = 0
	}
	// Doubling stops at the cap, which also keeps the shift from
	// overflowing for large attempt numbers.
	if attempt < 63 && base <= maxD>>uint(min(attempt, 62)) {
		d = base << uint(attempt)
	}
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	f := r()
	if f < 0 || f >= 1 {
		f = 0
	}
	half := d / 2
	return half + time.Duration(f*float64(d-half))
}

// DelayFor is Delay, lengthened to the server's Retry-After when err is a
// *RetryableError that carries a longer one (the server's word beats the
// cap: retrying sooner would only be refused again).
func (b Backoff) DelayFor(attempt int, err error) time.Duration {
	d := b.Delay(attempt)
	if r, ok := IsRetryable(err); ok && r.RetryAfter > d {
		return r.RetryAfter
	}
	return d
}
