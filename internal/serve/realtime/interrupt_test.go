package realtime_test

import (
	"testing"

	"github.com/dsgen/dsgen/internal/serve/realtime"
	"github.com/dsgen/dsgen/internal/testenv/poll"
)

// TestInterruptClosesEveryConnection: Interrupt closes each open
// connection with CloseFeedInterrupted, even one with events still queued,
// and a connection opened afterwards is served normally.
func TestInterruptClosesEveryConnection(t *testing.T) {
	f := newFixture(t, realtime.Options{})
	a := f.ready(t)
	a.start("s", "onCreatePost", nil)
	b := f.ready(t)
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Seq: 1, Item: map[string]any{"id": "p1", "title": "t"}})

	if n := f.hub.Interrupt("test"); n != 2 {
		t.Fatalf("Interrupt closed %d connections, want 2", n)
	}
	for name, c := range map[string]*client{"subscriber": a, "idle": b} {
		if code, reason := c.closeStatus(); code != realtime.CloseFeedInterrupted || reason != realtime.ReasonFeedInterrupted {
			t.Fatalf("%s connection closed with %d %q, want %d %q", name, code, reason, realtime.CloseFeedInterrupted, realtime.ReasonFeedInterrupted)
		}
	}
	poll.Until(t, "the interrupted connections to be released", func() bool { conns, _ := f.hub.Stats(); return conns == 0 })

	c := f.ready(t)
	c.start("s", "onCreatePost", nil)
	f.hub.Publish(realtime.Event{Model: "Post", Op: "create", Seq: 2, Item: map[string]any{"id": "p2", "title": "t"}})
	if got := c.data("s", "onCreatePost"); got["id"] != "p2" {
		t.Fatalf("after Interrupt a new subscriber got %v, want p2", got["id"])
	}
}
