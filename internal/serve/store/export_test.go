package store

// Commits returns how many group commits (Badger transactions) s has made,
// so benchmarks can report how many writes share one.
func Commits(s *Badger) uint64 { return s.commits.Load() }

// PostgresCommits returns how many transactions s has committed writes in
// and how many writes they held, so tests can check that writes share
// them.
func PostgresCommits(s *Postgres) (txns, writes uint64) { return s.txns.Load(), s.written.Load() }
