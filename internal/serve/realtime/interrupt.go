package realtime

import "github.com/coder/websocket"

// CloseFeedInterrupted closes the connections of an instance whose event
// feed may have missed events (Hub.Interrupt). Amplify JS, like dsgen's
// Go client, treats any close as a disruption: it reconnects, and DataStore
// runs a delta sync that fetches what the socket did not carry.
const CloseFeedInterrupted = websocket.StatusTryAgainLater // 1013

// ReasonFeedInterrupted prefixes the close reason of Hub.Interrupt.
const ReasonFeedInterrupted = "event feed interrupted; reconnect and sync"

// Interrupt closes every open connection with CloseFeedInterrupted, before
// anything still queued for it, and reports how many it closed. The caller
// uses it when events may have been missed, so no subscriber waits for
// events that will not come: its client reconnects and syncs instead. It
// never blocks; connections opened afterwards are served normally.
func (h *Hub) Interrupt(reason string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.conns {
		c.interrupt()
	}
	if len(h.conns) > 0 {
		h.log.Warn("realtime: closing every connection: the event feed was interrupted", "conns", len(h.conns), "reason", reason)
	}
	return len(h.conns)
}

// interrupt marks c to be closed with CloseFeedInterrupted; the writer
// closes it before writing anything else queued. A write under way is not
// cancelled (unlike a slow consumer's): cancelling it would drop the socket
// without the close frame that tells the client why; WriteTimeout bounds it.
func (c *conn) interrupt() {
	c.gapOnce.Do(func() { close(c.gap) })
}
