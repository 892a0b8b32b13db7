package pgstore

// WaitSweep waits until no sweep runs.
func (s *Store) WaitSweep() { s.sweeps.Wait() }
