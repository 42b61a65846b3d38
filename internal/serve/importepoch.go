package serve

import "context"

// epocher is the part of store.Bulk the resolver needs: both engines have
// it; a store without it never had an import.
type epocher interface {
	ImportEpoch(ctx context.Context) (int64, error)
}

// importEpoch returns the store's import epoch (0: no import): a lastSync
// before it must get a base sync, as AppSync gives one to a lastSync older
// than its delta TTL.
func (s *Server) importEpoch(ctx context.Context) (int64, error) {
	if e, ok := s.cfg.Store.(epocher); ok {
		return e.ImportEpoch(ctx)
	}
	return 0, nil
}
