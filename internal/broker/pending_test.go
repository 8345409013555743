package broker

import (
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/message"
)

// bucketCaps returns the capacity of every bucket's array.
func (p *pendingList) bucketCaps() (caps [10]int) {
	for i := range p.buckets {
		caps[i] = cap(p.buckets[i].items)
	}
	return caps
}

// TestPendingListGivesBackItsArray: a list that held 100,000 entries keeps
// at most keepCap slots per bucket once they are gone, whether they left
// from the head one at a time, in dispatch's batches, or all but a few.
func TestPendingListGivesBackItsArray(t *testing.T) {
	const n = 100000
	fill := func() (*pendingList, []*entry) {
		var p pendingList
		es := make([]*entry, n)
		for i := range es {
			es[i] = &entry{seq: uint64(i + 1), prio: uint8(i % 2 * 4)}
			p.push(es[i])
		}
		return &p, es
	}
	t.Run("head", func(t *testing.T) {
		p, es := fill()
		for _, e := range es {
			if !p.removeEntry(e) {
				t.Fatalf("entry %d not pending", e.seq)
			}
		}
		if p.len() != 0 {
			t.Fatalf("len %d after removing all", p.len())
		}
		for i, c := range p.bucketCaps() {
			if c > keepCap {
				t.Errorf("bucket %d keeps %d slots once empty, want at most %d", i, c, keepCap)
			}
		}
	})
	t.Run("batches", func(t *testing.T) {
		p, _ := fill()
		for p.len() > 0 {
			var refs []pendingRef
			p.each(func(b *bucket, i int, e *entry) bool {
				refs = append(refs, pendingRef{b, i})
				return len(refs) < maxBatch
			})
			p.removeRefs(refs)
		}
		for i, c := range p.bucketCaps() {
			if c > keepCap {
				t.Errorf("bucket %d keeps %d slots once empty, want at most %d", i, c, keepCap)
			}
		}
	})
	t.Run("few left", func(t *testing.T) {
		p, es := fill()
		for _, e := range es[:n-10] {
			p.removeEntry(e)
		}
		if p.len() != 10 {
			t.Fatalf("len %d, want 10", p.len())
		}
		total := 0
		for _, c := range p.bucketCaps() {
			total += c
		}
		if total > 4*1024 {
			t.Errorf("%d slots kept for 10 entries", total)
		}
		var seqs []uint64
		p.each(func(_ *bucket, _ int, e *entry) bool { seqs = append(seqs, e.seq); return true })
		for i, want := range []uint64{99992, 99994, 99996, 99998, 100000, 99991, 99993, 99995, 99997, 99999} {
			if seqs[i] != want {
				t.Fatalf("left %v, want the last ten by priority then sequence", seqs)
			}
		}
	})
}

// TestPendingListRemoveRefs: removing any set of positions in one call
// leaves the others in order.
func TestPendingListRemoveRefs(t *testing.T) {
	for _, tc := range []struct {
		name string
		take func(i int, e *entry) bool
	}{
		{"prefix", func(i int, _ *entry) bool { return i < 5 }},
		{"gap at head", func(i int, _ *entry) bool { return i >= 2 && i < 7 }},
		{"every other", func(i int, _ *entry) bool { return i%2 == 0 }},
		{"prefix and scattered", func(i int, _ *entry) bool { return i < 3 || i == 6 || i == 9 }},
		{"all", func(int, *entry) bool { return true }},
		{"none", func(int, *entry) bool { return false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p pendingList
			for i := range 12 {
				p.push(&entry{seq: uint64(i + 1), prio: uint8(4 + i%2*5)})
			}
			var refs []pendingRef
			var want []uint64
			i := 0
			p.each(func(b *bucket, j int, e *entry) bool {
				if tc.take(i, e) {
					refs = append(refs, pendingRef{b, j})
				} else {
					want = append(want, e.seq)
				}
				i++
				return true
			})
			p.removeRefs(refs)
			var got []uint64
			p.each(func(_ *bucket, _ int, e *entry) bool { got = append(got, e.seq); return true })
			if fmt.Sprint(got) != fmt.Sprint(want) || p.len() != len(want) {
				t.Fatalf("left %v (len %d), want %v", got, p.len(), want)
			}
		})
	}
}

// sendBacklog sends n non-persistent messages with body to queue name.
func sendBacklog(tb testing.TB, c *Conn, name string, n int, body []byte) {
	tb.Helper()
	for range n {
		m := &message.Message{Dest: q(name), Body: body, BodyKind: message.Bytes, Priority: 4}
		if err := c.Send(context.Background(), m, ""); err != nil {
			tb.Fatal(err)
		}
	}
}

// drainAcking connects a consumer of queue name that acknowledges each
// message as it arrives: the queue's backlog is dispatched and
// acknowledged before it returns. The caller closes the connection.
func drainAcking(tb testing.TB, b *Broker, name string) *Conn {
	tb.Helper()
	k := &ackingSink{}
	c, err := b.Connect(context.Background(), ConnOptions{Sink: k})
	if err != nil {
		tb.Fatal(err)
	}
	k.c = c
	if _, err := c.Subscribe(context.Background(), SubOptions{ID: "s", Dest: q(name), Ack: AckIndividual}); err != nil {
		tb.Fatal(err)
	}
	if st, _ := b.QueueStats(name); st.Pending != 0 || st.InFlight != 0 {
		tb.Fatalf("not drained: %+v", st)
	}
	return c
}

// TestDrainedQueueHoldsNoArray: a queue that held 100,000 messages and was
// drained by a consumer keeps no pending array of their size.
func TestDrainedQueueHoldsNoArray(t *testing.T) {
	b := startBroker(t, newMemStore(), Config{})
	p, _ := connect(t, b, "")
	sendBacklog(t, p, "deep", 100000, make([]byte, 16))
	c := drainAcking(t, b, "deep")
	t.Cleanup(c.Close)
	qu := b.queue("deep")
	qu.mu.Lock()
	caps := qu.mu.pending.bucketCaps()
	qu.mu.Unlock()
	for i, c := range caps {
		if c > keepCap {
			t.Errorf("drained queue's bucket %d keeps %d slots (%d bytes), want at most %d", i, c, 8*c, keepCap)
		}
	}
	if used := b.MemoryUsed(); used != 0 {
		t.Errorf("%d bytes of bodies still counted", used)
	}
}

// BenchmarkDrainBacklog is one message of a backlog of 100,000 dispatched
// to a consumer and acknowledged: the cost of taking messages from the
// head of a long pending list.
func BenchmarkDrainBacklog(b *testing.B) {
	const n = 100000
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		br, err := New(Config{MaxRedeliveries: DefaultMaxRedeliveries}, newMemStore(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		p, err := br.Connect(context.Background(), ConnOptions{Sink: &ackingSink{}})
		if err != nil {
			b.Fatal(err)
		}
		sendBacklog(b, p, "bench", n, []byte("payload"))
		b.StartTimer()
		drainAcking(b, br, "bench")
		b.StopTimer()
		br.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
