package realtime

import (
	"cmp"
	"slices"
	"time"
)

// ConnInfo describes one open connection, for the console of `dsgen serve`.
type ConnInfo struct {
	ID     uint64
	Remote string
	Opened time.Time
	// Principal is what Backend.Authenticate returned at connection_init;
	// nil before it.
	Principal     any
	Subscriptions []SubInfo
}

// SubInfo describes one registered subscription.
type SubInfo struct {
	ID    string // the client's id of the subscription
	Model string
	Op    string
	// Sub is the Backend's Subscription, for the caller to describe.
	Sub Subscription
}

// Connections lists the open connections and their subscriptions, oldest
// connection first, subscriptions by id.
func (h *Hub) Connections() []ConnInfo {
	h.mu.RLock()
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.RUnlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		ci := ConnInfo{ID: c.id, Remote: c.remote, Opened: c.opened, Principal: c.shown}
		for _, s := range c.subs {
			ci.Subscriptions = append(ci.Subscriptions, SubInfo{ID: s.id, Model: s.topic.model, Op: s.topic.op, Sub: s.s})
		}
		c.mu.Unlock()
		slices.SortFunc(ci.Subscriptions, func(a, b SubInfo) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, ci)
	}
	slices.SortFunc(out, func(a, b ConnInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
