package serve

// DisableFastPath makes s.Serve serve every connection with net/http alone,
// for tests comparing the two.
func DisableFastPath(s *Server) { s.noFastPath = true }

// ParseHeadForTest exposes the fast path's head parser: done and other
// tell its verdict, n the head's length and the values it read.
func ParseHeadForTest(b []byte) (done, other bool, n int, contentLength int64, auth, apiKey []byte) {
	var h fastHead
	st := parseHead(b, &h)
	return st == headDone, st == headOther, h.headLen, h.contentLength, h.auth, h.apiKey
}

// ParseHeadByteByByteForTest feeds b to the head parser one byte more at a
// time, resuming, as a head arriving in pieces is read; it stops at the
// first verdict other than "more".
func ParseHeadByteByByteForTest(b []byte) (done, other bool, n int) {
	var h fastHead
	for i := range len(b) + 1 {
		switch parseHead(b[:i], &h) {
		case headDone:
			return true, false, h.headLen
		case headOther:
			return false, true, 0
		}
	}
	return false, false, 0
}
