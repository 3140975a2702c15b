package state

// Snapshot returns a point-in-time view.
func (s *Store) Snapshot() (*Snapshot, error) {
	snap := &Snapshot{}
	snap.abandonCh = make(chan struct{})
	snap.db.Store(s.db.Load().Snapshot())
	return snap, nil
}
