package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func testRecoverEmpty(t *testing.T, e *env) {
	e.open = e.h.Fresh(t, Options{})
	s := e.open(t)
	defer s.Close()
	st, err := s.Recover(context.Background())
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if st.LastSeq != 0 || st.Mark != 0 || len(st.Dests) != 0 || len(st.Subscriptions) != 0 {
		t.Fatalf("empty store recovered %+v", st)
	}
	if u := s.Usage(); u.Messages != 0 {
		t.Fatalf("empty store usage %+v", u)
	}
	if recs := scan(t, s, "queue://none", 0, 10, 1<<20); len(recs) != 0 {
		t.Fatalf("scan of empty store: %v", seqs(recs))
	}
}

func testAddScan(t *testing.T, e *env) {
	s := e.start(t, Options{})
	ms := map[uint64]*message.Message{}
	for seq := uint64(1); seq <= 6; seq++ {
		dest := "queue://a"
		if seq%2 == 0 {
			dest = "queue://b"
		}
		ms[seq] = textMsg(fmt.Sprint("m", seq))
		if seq%3 == 0 { // forwarded by network bridges: the path is kept
			ms[seq].BrokerPath = []string{"ID:far", fmt.Sprint("ID:near-", seq)}
		}
		add(t, s, dest, seq, ms[seq])
	}
	check := func(s store.Store, when string) {
		a, b := scanAll(t, s, "queue://a"), scanAll(t, s, "queue://b")
		wantSeqs(t, when+" queue://a", a, 1, 3, 5)
		wantSeqs(t, when+" queue://b", b, 2, 4, 6)
		for _, r := range append(a, b...) {
			sameMessage(t, fmt.Sprintf("%s seq %d", when, r.Seq), r.Msg, ms[r.Seq])
		}
	}
	check(s, "before reopen")
	if u := s.Usage(); u.Messages != 6 || u.Bytes <= 0 {
		t.Fatalf("usage %+v, want 6 messages and some bytes", u)
	}
	s, _ = e.reopen(t, s)
	check(s, "after reopen")
	if u := s.Usage(); u.Messages != 6 {
		t.Fatalf("usage after reopen %+v, want 6 messages", u)
	}
}

func testRemove(t *testing.T, e *env) {
	s := e.start(t, Options{})
	for seq := uint64(1); seq <= 5; seq++ {
		add(t, s, "queue://a", seq, textMsg(fmt.Sprint(seq)))
	}
	var b store.Batch
	b.Remove("queue://a", 2)
	b.Remove("queue://a", 4)
	b.Remove("queue://a", 99)      // absent seq
	b.Remove("queue://nowhere", 1) // absent destination
	b.Remove("queue://a", 2)       // removed twice
	apply(t, s, &b)
	wantSeqs(t, "after remove", scanAll(t, s, "queue://a"), 1, 3, 5)
	s, _ = e.reopen(t, s)
	wantSeqs(t, "after reopen", scanAll(t, s, "queue://a"), 1, 3, 5)
	if u := s.Usage(); u.Messages != 3 {
		t.Fatalf("usage %+v, want 3 messages", u)
	}
}

func testAddRemoveSameBatch(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var b store.Batch
	b.Add("queue://a", 1, textMsg("1"))
	b.Add("queue://a", 2, textMsg("2"))
	b.Remove("queue://a", 1)
	apply(t, s, &b)
	wantSeqs(t, "same batch", scanAll(t, s, "queue://a"), 2)
	s, _ = e.reopen(t, s)
	wantSeqs(t, "same batch after reopen", scanAll(t, s, "queue://a"), 2)
}

func testScanPaging(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var sizes []int64
	for seq := uint64(1); seq <= 10; seq++ {
		m := textMsg(fmt.Sprint("paging-", seq))
		sizes = append(sizes, size(t, m))
		add(t, s, "queue://p", seq*10, m) // seqs 10, 20, ... 100
	}
	wantSeqs(t, "after 0 max 3", scan(t, s, "queue://p", 0, 3, 1<<20), 10, 20, 30)
	wantSeqs(t, "after 30 max 4", scan(t, s, "queue://p", 30, 4, 1<<20), 40, 50, 60, 70)
	wantSeqs(t, "after 35 (between seqs)", scan(t, s, "queue://p", 35, 2, 1<<20), 40, 50)
	wantSeqs(t, "after last", scan(t, s, "queue://p", 100, 10, 1<<20))
	wantSeqs(t, "max 1", scan(t, s, "queue://p", 0, 1, 1<<20), 10)
	wantSeqs(t, "maxBytes 1 gives at least one", scan(t, s, "queue://p", 50, 10, 1), 60)
	three := sizes[0] + sizes[1] + sizes[2]
	wantSeqs(t, "maxBytes of three", scan(t, s, "queue://p", 0, 10, three), 10, 20, 30)
	wantSeqs(t, "maxBytes just under three", scan(t, s, "queue://p", 0, 10, three-1), 10, 20)
	wantSeqs(t, "unknown dest", scan(t, s, "queue://other", 0, 10, 1<<20))
	// Walk the destination page by page.
	var all []uint64
	for after := uint64(0); ; {
		recs := scan(t, s, "queue://p", after, 3, 1<<20)
		if len(recs) == 0 {
			break
		}
		all = append(all, seqs(recs)...)
		after = recs[len(recs)-1].Seq
	}
	if fmt.Sprint(all) != "[10 20 30 40 50 60 70 80 90 100]" {
		t.Fatalf("paged walk: %v", all)
	}
}

func testMultiDestBatch(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var b store.Batch
	for i := uint64(1); i <= 9; i++ {
		b.Add(fmt.Sprintf("queue://d%d", i%3), i, textMsg(fmt.Sprint(i)))
	}
	apply(t, s, &b)
	check := func(s store.Store, when string) {
		wantSeqs(t, when+" d0", scanAll(t, s, "queue://d0"), 3, 6, 9)
		wantSeqs(t, when+" d1", scanAll(t, s, "queue://d1"), 1, 4, 7)
		wantSeqs(t, when+" d2", scanAll(t, s, "queue://d2"), 2, 5, 8)
	}
	check(s, "before reopen")
	// A batch that moves messages: remove from one dest, add to another.
	var mv store.Batch
	mv.Remove("queue://d0", 3)
	mv.Add("queue://dlq", 10, textMsg("3"))
	apply(t, s, &mv)
	s, _ = e.reopen(t, s)
	wantSeqs(t, "moved from", scanAll(t, s, "queue://d0"), 6, 9)
	wantSeqs(t, "moved to", scanAll(t, s, "queue://dlq"), 10)
}

func sub(client, name string) store.Subscription {
	return store.Subscription{
		ClientID: client, Name: name, Topic: "prices.>", Selector: "price > 10",
		NoLocal: true, Dest: "durable://" + client + "/" + name,
	}
}

func testSubscriptions(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var b store.Batch
	b.PutSub(sub("c1", "s1"))
	b.PutSub(sub("c1", "s2"))
	b.PutSub(sub("c2", "s1"))
	network := sub("pier-bridge:net/b", "topic://prices|ID:c")
	network.Remote, network.TTL = "ID:b", 3
	b.PutSub(network)
	apply(t, s, &b)
	replaced := sub("c1", "s2")
	replaced.Selector = ""
	replaced.NoLocal = false
	replaced.Topic = "orders"
	var b2 store.Batch
	b2.PutSub(replaced)
	b2.DeleteSub(sub("c2", "s1"))
	b2.DeleteSub(sub("c9", "absent"))
	apply(t, s, &b2)

	_, st := e.reopen(t, s)
	got := map[string]store.Subscription{}
	for _, sb := range st.Subscriptions {
		if _, dup := got[sb.Key()]; dup {
			t.Fatalf("subscription %q recovered twice", sb.Key())
		}
		got[sb.Key()] = sb
	}
	want := map[string]store.Subscription{sub("c1", "s1").Key(): sub("c1", "s1"), replaced.Key(): replaced,
		network.Key(): network}
	if len(got) != len(want) {
		t.Fatalf("recovered subscriptions %+v, want %+v", st.Subscriptions, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("subscription %q: got %+v, want %+v", k, got[k], w)
		}
	}
}

func testDeleteSubMessages(t *testing.T, e *env) {
	s := e.start(t, Options{})
	sb := sub("c1", "s1")
	other := sub("c1", "s2")
	var b store.Batch
	b.PutSub(sb)
	b.PutSub(other)
	for i := uint64(1); i <= 4; i++ {
		b.Add(sb.Dest, i, textMsg(fmt.Sprint(i)))
		b.Add(other.Dest, 10+i, textMsg(fmt.Sprint(i)))
	}
	apply(t, s, &b)
	var del store.Batch
	del.DeleteSub(sb)
	apply(t, s, &del)
	wantSeqs(t, "deleted sub's messages", scanAll(t, s, sb.Dest))
	wantSeqs(t, "other sub's messages", scanAll(t, s, other.Dest), 11, 12, 13, 14)
	s, st := e.reopen(t, s)
	wantSeqs(t, "deleted sub's messages after reopen", scanAll(t, s, sb.Dest))
	if _, ok := findDest(st, sb.Dest); ok {
		t.Fatalf("deleted subscription's destination recovered: %+v", st.Dests)
	}
	if len(st.Subscriptions) != 1 || st.Subscriptions[0] != other {
		t.Fatalf("subscriptions after reopen %+v", st.Subscriptions)
	}
	if u := s.Usage(); u.Messages != 4 {
		t.Fatalf("usage %+v, want 4 messages", u)
	}
}

func testLastSeq(t *testing.T, e *env) {
	s := e.start(t, Options{})
	for seq := uint64(5); seq <= 7; seq++ {
		add(t, s, "queue://a", seq, textMsg(fmt.Sprint(seq)))
	}
	s, st := e.reopen(t, s)
	if st.LastSeq != 7 {
		t.Fatalf("LastSeq %d, want 7", st.LastSeq)
	}
	var b store.Batch
	for seq := uint64(5); seq <= 7; seq++ {
		b.Remove("queue://a", seq)
	}
	apply(t, s, &b)
	s, st = e.reopen(t, s)
	if st.LastSeq < 7 {
		t.Fatalf("LastSeq %d after removing everything, want at least 7", st.LastSeq)
	}
	_, st = e.reopen(t, s)
	if st.LastSeq < 7 {
		t.Fatalf("LastSeq %d after second reopen, want at least 7", st.LastSeq)
	}
}

func testRecoverDests(t *testing.T, e *env) {
	s := e.start(t, Options{})
	var want = map[string]int64{}
	counts := map[string]int{"queue://x": 3, "queue://y": 1, "topic-sub://z": 5}
	seq := uint64(0)
	for dest, n := range counts {
		for i := 0; i < n; i++ {
			seq++
			m := msg(fmt.Sprint(seq), make([]byte, 100*i))
			want[dest] += size(t, m)
			add(t, s, dest, seq, m)
		}
	}
	seq++
	add(t, s, "queue://emptied", seq, textMsg("gone"))
	var b store.Batch
	b.Remove("queue://emptied", seq)
	apply(t, s, &b)

	_, st := e.reopen(t, s)
	if len(st.Dests) != len(counts) {
		t.Fatalf("recovered dests %+v, want %d non-empty", st.Dests, len(counts))
	}
	for dest, n := range counts {
		d, ok := findDest(st, dest)
		if !ok || d.Count != n {
			t.Fatalf("dest %s: recovered %+v, want count %d", dest, d, n)
		}
		// Bytes is approximate: within a factor of two of the encoded size.
		if d.Bytes < want[dest]/2 || d.Bytes > 2*want[dest] {
			t.Fatalf("dest %s: bytes %d, want about %d", dest, d.Bytes, want[dest])
		}
	}
	if st.LastSeq != seq {
		t.Fatalf("LastSeq %d, want %d", st.LastSeq, seq)
	}
}

func testConcurrentApply(t *testing.T, e *env) {
	s := e.start(t, Options{})
	const workers, perWorker = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				seq := uint64(w*perWorker + i + 1)
				var b store.Batch
				b.Add(fmt.Sprintf("queue://w%d", w%4), seq, textMsg(fmt.Sprint(seq)))
				b.Add("queue://all", seq, textMsg(fmt.Sprint(seq)))
				if err := s.Apply(context.Background(), &b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Apply: %v", err)
	}
	check := func(s store.Store, when string) {
		all := scanAll(t, s, "queue://all")
		if len(all) != workers*perWorker {
			t.Fatalf("%s: %d messages in queue://all, want %d", when, len(all), workers*perWorker)
		}
		for i, r := range all {
			if r.Seq != uint64(i+1) || r.Msg.ID != fmt.Sprint(r.Seq) {
				t.Fatalf("%s: record %d is seq %d id %q", when, i, r.Seq, r.Msg.ID)
			}
		}
		n := 0
		for w := 0; w < 4; w++ {
			n += len(scanAll(t, s, fmt.Sprintf("queue://w%d", w)))
		}
		if n != workers*perWorker {
			t.Fatalf("%s: %d messages in per-worker queues, want %d", when, n, workers*perWorker)
		}
	}
	check(s, "before reopen")
	s, _ = e.reopen(t, s)
	check(s, "after reopen")
}

func testApplyRacingClose(t *testing.T, e *env) {
	s := e.start(t, Options{})
	const workers = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []uint64
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				seq := uint64(w*100000 + i + 1)
				var b store.Batch
				b.Add("queue://race", seq, textMsg(fmt.Sprint(seq)))
				if err := s.Apply(context.Background(), &b); err != nil {
					if !errors.Is(err, store.ErrClosed) {
						t.Errorf("Apply during Close: %v, want nil or ErrClosed", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, seq)
				n := len(acked)
				mu.Unlock()
				if n >= 200 {
					return
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20 {
			break
		}
		add(t, s, "queue://pace", uint64(math.MaxUint32)+uint64(n), textMsg("pace"))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	s = e.recovered(t)
	have := map[uint64]bool{}
	for _, r := range scanAll(t, s, "queue://race") {
		have[r.Seq] = true
	}
	for _, seq := range acked {
		if !have[seq] {
			t.Fatalf("acknowledged seq %d lost across Close", seq)
		}
	}
}
