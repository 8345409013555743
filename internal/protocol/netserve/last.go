package netserve

import "time"

// PushLast queues it as the outbox's last item and waits, up to timeout,
// until the writer has written and flushed it (and returned). It reports
// false if the outbox was closed already or the wait timed out. Use it to
// tell a peer why the server ends its connection before ending it (the
// read loop is then stopped, and Finish closes the socket).
func (o *Outbox[T]) PushLast(it T, timeout time.Duration) bool {
	if !o.Push(it) {
		return false
	}
	o.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-o.done:
		return true
	case <-t.C:
		return false
	}
}
