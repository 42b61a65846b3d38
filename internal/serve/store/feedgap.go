package store

import (
	"context"
	"sync"
)

// FeedGaps is implemented by engines whose feed can miss or hold back
// changes (the PostgreSQL engine: a lost listening connection, a change
// log that could not be read or had expired). Callers that keep state
// derived from the feed, such as the real-time hub's subscribers, must
// throw it away on a gap and resynchronise from the store: the feed does
// not replay what it missed.
type FeedGaps interface {
	// OnFeedGap registers fn to be called, until ctx ends, each time the
	// feed may have missed changes or stops receiving other instances'
	// changes for a while. fn must not block or call the store; reason says
	// what happened, for logs and close frames.
	OnFeedGap(ctx context.Context, fn func(reason string))
}

// Feed gap reasons.
const (
	GapListenerLost = "the database listening connection was lost"
	GapLogUnread    = "the change log could not be read"
	GapLogExpired   = "changes expired before they were delivered"
)

// gapSignal fans feed-gap notices out to registered functions.
type gapSignal struct {
	mu  sync.Mutex
	fns map[*func(string)]struct{}
}

func (g *gapSignal) add(ctx context.Context, fn func(string)) {
	if ctx.Err() != nil {
		return
	}
	p := &fn
	g.mu.Lock()
	if g.fns == nil {
		g.fns = make(map[*func(string)]struct{})
	}
	g.fns[p] = struct{}{}
	g.mu.Unlock()
	context.AfterFunc(ctx, func() {
		g.mu.Lock()
		delete(g.fns, p)
		g.mu.Unlock()
	})
}

func (g *gapSignal) signal(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p := range g.fns {
		(*p)(reason)
	}
}

// OnFeedGap implements FeedGaps: fn runs when the listening connection
// fails (other instances' changes stop arriving until it is back), and
// when a catch-up read of the change log fails or finds changes expired
// (those changes are skipped). Registrations end with ctx or Close.
func (s *Postgres) OnFeedGap(ctx context.Context, fn func(reason string)) {
	s.gaps.add(ctx, fn)
}

var _ FeedGaps = (*Postgres)(nil)
