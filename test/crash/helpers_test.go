//go:build crossprocess

// Package crash holds cross-process crash tests: a real pier process is
// killed with SIGKILL (or stopped with SIGTERM) while STOMP clients produce
// and acknowledge, restarted on the same data directory, and the queue is
// checked against what the broker had confirmed with RECEIPTs.
package crash

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient"
)

// rawConn is a STOMP 1.2 connection driven frame by frame, so that many
// frames can be in flight and each RECEIPT is matched to its frame.
type rawConn struct {
	nc  net.Conn
	r   *stomp.Reader
	wmu sync.Mutex
	bw  *bufio.Writer
	w   *stomp.Writer
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	bw := bufio.NewWriter(nc)
	c := &rawConn{nc: nc, r: stomp.NewReader(bufio.NewReader(nc), stomp.Limits{}), bw: bw, w: stomp.NewWriter(bw, stomp.V12)}
	if err := c.write(stomp.NewFrame(stomp.CmdConnect, "accept-version", "1.2", "host", "localhost")); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := c.r.ReadFrame()
	if err != nil || f == nil || f.Command != stomp.CmdConnected {
		t.Fatalf("CONNECT: got %v, %v", f, err)
	}
	nc.SetReadDeadline(time.Time{})
	c.r.SetVersion(stomp.V12)
	return c
}

func (c *rawConn) write(f *stomp.Frame) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if err := c.w.WriteFrame(f); err != nil {
		return err
	}
	return c.bw.Flush()
}

// seqSet is a set of message sequence numbers safe for concurrent use.
type seqSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func newSeqSet() *seqSet { return &seqSet{m: map[int]bool{}} }

func (s *seqSet) add(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[n] = true
	return len(s.m)
}

func (s *seqSet) has(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[n]
}

func (s *seqSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// produce sends n persistent messages (header seq = 0..n-1) to dest over
// one connection, each with a receipt header, keeping up to window of them
// unconfirmed. It calls onReceipt with the number of receipts so far after
// each one. It returns when every message is confirmed or the connection
// ends (e.g. the broker was killed), with the receipted sequence numbers and
// the number of messages written.
func produce(t *testing.T, addr, dest string, n, window int, onReceipt func(count int)) (receipted *seqSet, sent int) {
	t.Helper()
	c := dialRaw(t, addr)
	receipted = newSeqSet()
	credit := make(chan struct{}, window)
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
			case stomp.CmdReceipt:
				seq, err := strconv.Atoi(f.Get("receipt-id"))
				if err != nil {
					readerDone <- fmt.Errorf("bad receipt-id %q", f.Get("receipt-id"))
					return
				}
				count := receipted.add(seq)
				<-credit
				if onReceipt != nil {
					onReceipt(count)
				}
				if count == n {
					readerDone <- nil
					return
				}
			default:
				readerDone <- fmt.Errorf("producer got %s: %s %s", f.Command, f.Get("message"), f.Body)
				return
			}
		}
	}()
	var readErr error
	gotReadErr := false
loop:
	for ; sent < n; sent++ {
		select {
		case credit <- struct{}{}:
		case readErr = <-readerDone:
			gotReadErr = true
			break loop
		}
		f := stomp.NewFrame(stomp.CmdSend, "destination", dest, "persistent", "true",
			"receipt", strconv.Itoa(sent), "seq", strconv.Itoa(sent))
		f.Body = fmt.Appendf(nil, "message %06d %s", sent, pad)
		if err := c.write(f); err != nil {
			break
		}
	}
	if !gotReadErr {
		select {
		case readErr = <-readerDone:
		case <-time.After(60 * time.Second):
			t.Fatalf("producer: no end after 60s: %d of %d sent messages confirmed", receipted.len(), sent)
		}
	}
	c.nc.Close()
	if readErr != nil {
		t.Logf("producer connection ended: %v", readErr)
	}
	return receipted, sent
}

const pad = "................................................................................"

// received is one drained message.
type received struct {
	seq         int
	redelivered bool
}

// drain consumes dest with an auto-ack subscription until done(seen) holds
// and nothing more arrives for a second, or until 45 s have passed. It
// returns the messages in delivery order.
func drain(t *testing.T, addr, dest string, done func(seen map[int]int) bool) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	c, err := stompclient.Dial(ctx, addr, stompclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, dest, stompclient.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []received
	seen := map[int]int{}
	idle := time.NewTimer(time.Second)
	defer idle.Stop()
	for {
		select {
		case m, ok := <-sub.C:
			if !ok {
				t.Fatalf("drain: connection ended: %v", c.Err())
			}
			seq, err := strconv.Atoi(m.Header("seq"))
			if err != nil {
				t.Fatalf("drain: message without a seq header: %v", m.Frame.Headers)
			}
			out = append(out, received{seq: seq, redelivered: m.Header("redelivered") == "true"})
			seen[seq]++
			idle.Reset(time.Second)
		case <-idle.C:
			if done(seen) {
				return out
			}
			idle.Reset(time.Second)
		case <-ctx.Done():
			t.Logf("drain: gave up waiting after 45s with %d messages", len(out))
			return out
		}
	}
}

// checkExactlyOnce fails for every message seen more than once and every
// message in want seen not at all.
func checkExactlyOnce(t *testing.T, got []received, want func(seq int) bool, n int) {
	t.Helper()
	count := map[int]int{}
	for _, r := range got {
		count[r.seq]++
	}
	var dups, missing []int
	for seq, k := range count {
		if k > 1 {
			dups = append(dups, seq)
		}
	}
	for seq := range n {
		if want(seq) && count[seq] == 0 {
			missing = append(missing, seq)
		}
	}
	slices.Sort(dups)
	slices.Sort(missing)
	if len(dups) > 0 {
		t.Errorf("%d messages delivered more than once, e.g. %v", len(dups), first(dups))
	}
	if len(missing) > 0 {
		t.Errorf("%d confirmed messages missing after restart, e.g. %v", len(missing), first(missing))
	}
}

func first(s []int) []int {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
