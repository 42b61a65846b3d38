package store

// Commits returns how many group commits (Badger transactions) s has made,
// so benchmarks can report how many writes share one.
func Commits(s *Badger) uint64 { return s.commits.Load() }
