package stomp

// CloseFromBroker implements broker.Closer: the management interface
// closes the connection. The client gets an ERROR frame saying why, then
// the socket is closed.
func (s *session) CloseFromBroker(reason string) {
	s.log.Info("connection closed by the broker", "reason", reason)
	f := NewFrame(CmdError, "message", reason)
	f.Add("content-type", "text/plain")
	f.Body = []byte(reason + "\n")
	s.out.PushLast(outItem{f: f}, s.srv.cfg.WriteTimeout)
	s.Shutdown()
}
