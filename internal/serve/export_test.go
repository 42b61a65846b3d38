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
