package serve

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// lazyDeadline is context.WithDeadline(parent, deadline) whose timer and
// cancel context are made only when something asks for Done (or for the
// context's state once the deadline has passed or parent has ended). A
// request's context is mostly only polled with Err (the mutation path: the
// store and the executor check it between steps), and a timer armed and
// stopped per request costs a few percent of a mutation's CPU time.
//
// It behaves as the context it stands for: Err is nil until the deadline
// passes or parent ends and then the real context's error, so a Done
// asked for later is closed whenever Err is not nil.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time
	once     sync.Once
	made     atomic.Bool // set once ctx and cancel are
	released atomic.Bool // set by release
	ctx      context.Context
	cancel   context.CancelFunc
}

// withLazyDeadline returns the context and the function that releases it,
// as context.WithDeadline does.
func withLazyDeadline(parent context.Context, deadline time.Time) (*lazyDeadline, func()) {
	c := &lazyDeadline{parent: parent, deadline: deadline}
	return c, c.release
}

// real returns the context.WithDeadline this one stands for, making it.
func (c *lazyDeadline) real() context.Context {
	c.once.Do(func() {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		c.made.Store(true)
	})
	if c.released.Load() {
		c.cancel() // released before it was made: canceled, as it would be
	}
	return c.ctx
}

// ended reports whether the real context would be done by now.
func (c *lazyDeadline) ended() bool {
	return c.made.Load() || c.released.Load() || c.parent.Err() != nil || !time.Now().Before(c.deadline)
}

// Deadline is the earlier of the deadline and parent's.
func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

// Done is the real context's.
func (c *lazyDeadline) Done() <-chan struct{} { return c.real().Done() }

// Err is nil while the deadline is ahead, parent lives and release has not
// been called, else the real context's error.
func (c *lazyDeadline) Err() error {
	if c.ended() {
		return c.real().Err()
	}
	return nil
}

// Value is the real context's once it is made (or due), else parent's.
func (c *lazyDeadline) Value(key any) any {
	if c.ended() {
		return c.real().Value(key)
	}
	return c.parent.Value(key)
}

// release cancels the context, as a context.CancelFunc does: it stops the
// timer if one was made; one made later is canceled at once (real).
func (c *lazyDeadline) release() {
	c.released.Store(true)
	if c.made.Load() {
		c.cancel()
	}
}
