//go:build crossprocess

package crash

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient"
	"github.com/piermq/pier/test/internal/piertest"
)

// TestKillDuringSend kills the broker while a producer streams persistent
// messages: after a restart every message the broker confirmed with a
// RECEIPT is there exactly once, in send order, and nothing unconfirmed is
// duplicated.
func TestKillDuringSend(t *testing.T) { killDuringSend(t, 3000, 200, 1500, 0, "/queue/crash.send") }

// TestKillWithBacklogPastTheWindow is TestKillDuringSend with a backlog
// longer than a queue's window (broker.DefaultWindow, 10,000): most of the
// messages are in the store only, past the queue's cursor, when the broker
// is killed, and after the restart the cursor reads them back a page at a
// time — every confirmed message exactly once, in send order.
func TestKillWithBacklogPastTheWindow(t *testing.T) {
	killDuringSend(t, 24000, 500, 22000, 15000, "/queue/crash.deep")
}

// killDuringSend sends n messages to dest with up to window unconfirmed,
// kills the broker once killAt are confirmed, and checks what comes back
// after a restart; fewer than minConfirmed confirmed before the kill fails
// the test (the backlog it needs did not build up).
func killDuringSend(t *testing.T, n, window, killAt, minConfirmed int, dest string) {
	p := piertest.Start(t, "")
	var once sync.Once
	receipted, sent := produce(t, p.Addr, dest, n, window, func(count int) {
		if count == killAt {
			once.Do(func() { go p.Kill() })
		}
	})
	p.Kill() // in case it has not happened yet; waits for the process
	t.Logf("sent %d, receipted %d before SIGKILL", sent, receipted.len())
	if receipted.len() == n {
		t.Log("warning: every message was confirmed before the kill took effect")
	}
	if receipted.len() < minConfirmed {
		t.Fatalf("only %d messages confirmed before the kill, want at least %d", receipted.len(), minConfirmed)
	}
	p.Restart()

	got := drain(t, p.Addr, dest, func(seen map[int]int) bool {
		for seq := range n {
			if receipted.has(seq) && seen[seq] == 0 {
				return false
			}
		}
		return true
	})
	checkExactlyOnce(t, got, receipted.has, n)
	for i, r := range got {
		if r.seq >= sent {
			t.Errorf("message %d was never sent", r.seq)
		}
		if i > 0 && r.seq <= got[i-1].seq {
			t.Errorf("out of order after restart: %d after %d", r.seq, got[i-1].seq)
			break
		}
	}
	t.Logf("after restart: %d messages (%d receipted, %d sent)", len(got), receipted.len(), sent)
}

// TestKillDuringAcks kills the broker while a client-individual consumer
// acknowledges with receipts: after a restart no message whose ACK was
// confirmed comes back, and every message never acknowledged is there
// exactly once.
func TestKillDuringAcks(t *testing.T) { killDuringAcks(t, 2000, "/queue/crash.ack") }

// TestKillDuringAcksPastTheWindow is TestKillDuringAcks with a backlog
// longer than a queue's window (broker.DefaultWindow, 10,000): the kill
// comes while the queue reads messages back from past its cursor.
func TestKillDuringAcksPastTheWindow(t *testing.T) {
	killDuringAcks(t, 24000, "/queue/crash.deepack")
}

func killDuringAcks(t *testing.T, n int, dest string) {
	p := piertest.Start(t, "")
	receipted, _ := produce(t, p.Addr, dest, n, 200, nil)
	if receipted.len() != n {
		t.Fatalf("only %d of %d sends confirmed", receipted.len(), n)
	}

	c := dialRaw(t, p.Addr)
	ackSent, ackReceipted := newSeqSet(), newSeqSet()
	var killed atomic.Bool
	readerDone := make(chan error, 1)
	go func() {
		for {
			f, err := c.r.ReadFrame()
			if err != nil {
				readerDone <- err
				return
			}
			if f == nil {
				continue
			}
			switch f.Command {
			case stomp.CmdMessage:
				seq, _ := strconv.Atoi(f.Get("seq"))
				ack := stomp.NewFrame(stomp.CmdAck, "id", f.Get("ack"), "receipt", "a"+strconv.Itoa(seq))
				ackSent.add(seq)
				if err := c.write(ack); err != nil {
					readerDone <- err
					return
				}
			case stomp.CmdReceipt:
				id := f.Get("receipt-id")
				if id == "sub" {
					continue
				}
				seq, _ := strconv.Atoi(id[1:])
				if ackReceipted.add(seq) == n/2 && killed.CompareAndSwap(false, true) {
					go p.Kill()
				}
			default:
				readerDone <- &serverError{f}
				return
			}
		}
	}()
	if err := c.write(stomp.NewFrame(stomp.CmdSubscribe, "id", "0", "destination", dest,
		"ack", "client-individual", "activemq.prefetchSize", "50", "receipt", "sub")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readerDone:
		t.Logf("consumer connection ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatalf("consumer: broker not killed after 60s (%d acks confirmed)", ackReceipted.len())
	}
	p.Kill()
	t.Logf("acks sent %d, confirmed %d before SIGKILL", ackSent.len(), ackReceipted.len())
	p.Restart()

	got := drain(t, p.Addr, dest, func(seen map[int]int) bool {
		for seq := range n {
			if !ackSent.has(seq) && seen[seq] == 0 {
				return false
			}
		}
		return true
	})
	checkExactlyOnce(t, got, func(seq int) bool { return !ackSent.has(seq) }, n)
	back := 0
	for _, r := range got {
		if ackReceipted.has(r.seq) {
			back++
			if back <= 10 {
				t.Errorf("message %d is back after a restart although its ACK was confirmed", r.seq)
			}
		}
	}
	if back > 0 {
		t.Errorf("%d messages with a confirmed ACK came back", back)
	}
	t.Logf("after restart: %d messages left", len(got))
}

type serverError struct{ f *stomp.Frame }

func (e *serverError) Error() string {
	return e.f.Command + ": " + e.f.Get("message") + ": " + string(e.f.Body)
}

// TestCleanShutdown stops the broker with SIGTERM while a consumer holds
// unacknowledged messages and a durable subscriber is away: it exits with
// status 0 and, after a restart, every message not acknowledged is there
// exactly once, in order, and the durable subscription has its backlog.
func TestCleanShutdown(t *testing.T) {
	const n, dest, acked = 500, "/queue/crash.term", 50
	p := piertest.Start(t, "")
	receipted, _ := produce(t, p.Addr, dest, n, 100, nil)
	if receipted.len() != n {
		t.Fatalf("only %d of %d sends confirmed", receipted.len(), n)
	}
	durableBacklog(t, p.Addr, 20)
	consumeAndAck(t, p.Addr, dest, acked, 2*acked)
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("SIGTERM: want exit status 0, got %v", err)
	}
	p.Restart()
	checkDurableBacklog(t, p.Addr, 20)
	got := drain(t, p.Addr, dest, func(seen map[int]int) bool { return len(seen) >= n-acked })
	checkExactlyOnce(t, got, func(seq int) bool { return seq >= acked }, n)
	for i, r := range got {
		if r.seq < acked {
			t.Errorf("acknowledged message %d is back", r.seq)
		}
		if i > 0 && r.seq <= got[i-1].seq {
			t.Errorf("out of order after restart: %d after %d", r.seq, got[i-1].seq)
			break
		}
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatalf("second SIGTERM: want exit status 0, got %v", err)
	}
}

const durableTopic, durableClient, durableName = "/topic/crash.durable", "crash-client", "crash-sub"

// durableBacklog creates a durable topic subscription, closes it and
// publishes n persistent messages for it.
func durableBacklog(t *testing.T, addr string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := stompclient.Dial(ctx, addr, stompclient.Options{ClientID: durableClient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, durableTopic, stompclient.SubscribeOptions{DurableName: durableName}); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := stompclient.Dial(ctx, addr, stompclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range n {
		if err := p.Send(ctx, durableTopic, []byte(strconv.Itoa(i)), stompclient.Persistent()); err != nil {
			t.Fatal(err)
		}
	}
}

// checkDurableBacklog reconnects the durable subscriber and expects the n
// messages published while it was away, in order, and nothing more.
func checkDurableBacklog(t *testing.T, addr string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := stompclient.Dial(ctx, addr, stompclient.Options{ClientID: durableClient})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, durableTopic, stompclient.SubscribeOptions{DurableName: durableName})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= n; i++ {
		select {
		case m := <-sub.C:
			if i == n {
				t.Errorf("durable subscription: unexpected extra message %q", m.Body)
				return
			}
			if string(m.Body) != strconv.Itoa(i) {
				t.Errorf("durable subscription after restart: got %q, want %d", m.Body, i)
			}
		case <-time.After(time.Second):
			if i < n {
				t.Errorf("durable subscription after restart: %d of %d messages", i, n)
			}
			return
		case <-ctx.Done():
			t.Fatalf("durable subscription after restart: %d of %d messages after 30s", i, n)
		}
	}
}

// consumeAndAck receives hold messages on a client-individual subscription,
// acknowledges the first ack of them with receipts and keeps the
// connection open (the rest stay unacknowledged until the broker stops).
func consumeAndAck(t *testing.T, addr, dest string, ack, hold int) {
	t.Helper()
	c := dialRaw(t, addr)
	if err := c.write(stomp.NewFrame(stomp.CmdSubscribe, "id", "0", "destination", dest,
		"ack", "client-individual", "activemq.prefetchSize", strconv.Itoa(hold))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	c.nc.SetReadDeadline(dl)
	defer c.nc.SetReadDeadline(time.Time{})
	receipts := 0
	for got := 0; got < hold || receipts < ack; {
		f, err := c.r.ReadFrame()
		if err != nil {
			t.Fatalf("consumer: %d messages, %d receipts: %v", got, receipts, err)
		}
		switch {
		case f == nil:
		case f.Command == stomp.CmdReceipt:
			receipts++
		case f.Command == stomp.CmdMessage:
			if seq := f.Get("seq"); seq != strconv.Itoa(got) {
				t.Fatalf("consumer: got seq %s, want %d", seq, got)
			}
			if got < ack {
				if err := c.write(stomp.NewFrame(stomp.CmdAck, "id", f.Get("ack"), "receipt", "a"+f.Get("seq"))); err != nil {
					t.Fatal(err)
				}
			}
			got++
		default:
			t.Fatalf("consumer: %v", &serverError{f})
		}
	}
}
