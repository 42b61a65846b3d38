package serve

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dsgen/dsgen/internal/testenv/poll"
)

type ctxKey struct{}

// TestLazyDeadlineEndsAsWithDeadline checks that withLazyDeadline's context
// reports what context.WithDeadline's would, whether or not Done was asked
// for before it ended: at the deadline, when the parent ends, on release.
func TestLazyDeadlineEndsAsWithDeadline(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	done := func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return true
		default:
			return false
		}
	}
	for _, early := range []bool{false, true} {
		t.Run("deadline", func(t *testing.T) {
			ctx, release := withLazyDeadline(parent, time.Now().Add(50*time.Millisecond))
			defer release()
			if early && done(ctx) {
				t.Fatal("Done is closed before the deadline")
			}
			if err := ctx.Err(); err != nil {
				t.Fatalf("Err before the deadline: %v", err)
			}
			if ctx.Value(ctxKey{}) != "v" {
				t.Fatal("the parent's value is lost")
			}
			if d, ok := ctx.Deadline(); !ok || d.IsZero() {
				t.Fatalf("Deadline = %v, %v", d, ok)
			}
			poll.Until(t, "the deadline to pass", func() bool { return ctx.Err() != nil })
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !done(ctx) {
				t.Fatalf("after the deadline: Err %v, Done closed %v", ctx.Err(), done(ctx))
			}
			if ctx.Value(ctxKey{}) != "v" {
				t.Fatal("the parent's value is lost")
			}
		})
		t.Run("parent", func(t *testing.T) {
			p, cancel := context.WithCancel(parent)
			ctx, release := withLazyDeadline(p, time.Now().Add(time.Hour))
			defer release()
			if early && done(ctx) {
				t.Fatal("Done is closed before the parent ended")
			}
			cancel()
			if early {
				poll.Until(t, "Done to close", func() bool { return done(ctx) })
			}
			if !errors.Is(ctx.Err(), context.Canceled) || !done(ctx) {
				t.Fatalf("after the parent ended: Err %v, Done closed %v", ctx.Err(), done(ctx))
			}
		})
		t.Run("release", func(t *testing.T) {
			ctx, release := withLazyDeadline(parent, time.Now().Add(time.Hour))
			if early && done(ctx) {
				t.Fatal("Done is closed before release")
			}
			release()
			if !errors.Is(ctx.Err(), context.Canceled) || !done(ctx) {
				t.Fatalf("after release: Err %v, Done closed %v", ctx.Err(), done(ctx))
			}
			release() // a second call is harmless, as a CancelFunc's is
		})
	}
}

// TestLazyDeadlineChildren checks that contexts derived from it end with it.
func TestLazyDeadlineChildren(t *testing.T) {
	ctx, release := withLazyDeadline(context.Background(), time.Now().Add(time.Hour))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { close(fired) })
	defer stop()
	release()
	<-fired
	poll.Until(t, "the child to end", func() bool { return child.Err() != nil })
	if !errors.Is(child.Err(), context.Canceled) {
		t.Fatalf("child: %v", child.Err())
	}
}
