package httpapi

// FillPasswordChecks takes every password-check slot and waiting place,
// as a flood of sign-ins would; the func gives them back.
func FillPasswordChecks(s *Server) func() {
	for range cap(s.checks.slots) {
		s.checks.slots <- struct{}{}
	}
	for range cap(s.checks.waiters) {
		s.checks.waiters <- struct{}{}
	}
	return func() {
		for range cap(s.checks.waiters) {
			<-s.checks.waiters
		}
		for range cap(s.checks.slots) {
			<-s.checks.slots
		}
	}
}

// PasswordChecks counts the password hashes the server has checked.
func PasswordChecks(s *Server) uint64 { return s.verified.Load() }

// StreamsOpen counts the open event streams.
func StreamsOpen(s *Server) int {
	s.streamSet.mu.Lock()
	defer s.streamSet.mu.Unlock()
	return len(s.streamSet.pokes)
}
