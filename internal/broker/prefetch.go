package broker

// SetPrefetch changes the subscription's prefetch window to n deliveries
// (n <= 0: none, the consumer pulls), keeping the deliveries in flight: the
// window's free room grows or shrinks by the difference. A failover JMS
// client restores its consumers with prefetch 0 and then sends the real
// size this way (OpenWire's ConsumerControl).
func (s *Subscription) SetPrefetch(n int) {
	n = max(n, 0)
	s.mu.Lock()
	if s.mu.closed || n == s.prefetch {
		s.mu.Unlock()
		return
	}
	s.mu.credit += n - s.prefetch
	s.prefetch = n
	s.mu.Unlock()
	s.kickAll()
}
