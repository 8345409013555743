package broker

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/store"
)

// The broker's own small records — which consumer holds a message group,
// which virtual-topic consumer queues exist — ride on the store's
// subscription records, so every store (journal, SQL, replicated) keeps and
// replicates them with no format of their own. They are told from durable
// subscriptions by an empty client id (a durable subscription always has
// one) and the kind their Dest names:
//
//	group://OWNER    a message group: Topic is the queue, Selector the group
//	                 id, OWNER the consumer (client id NUL subscription id)
//	virtual://QUEUE  a consumer queue of a virtual topic: Topic is the queue
//
// They are written in the background, coalesced, after the change they
// record: one lost in a crash only makes the new master hand that group to
// the next consumer, as if it had never been given.

const (
	groupRecordPrefix   = "group://"
	virtualRecordPrefix = "virtual://"
	// maxRecordName bounds the key of a record (MySQL keys it in 768
	// bytes); a group with a longer queue name and id stays in memory only.
	maxRecordName = 700
)

func groupRecord(queue, group, owner string) store.Subscription {
	return store.Subscription{Name: "group\x00" + queue + "\x00" + group, Topic: queue, Selector: group,
		Dest: groupRecordPrefix + owner}
}

func virtualRecord(queue string) store.Subscription {
	return store.Subscription{Name: "virtual\x00" + queue, Topic: queue, Dest: virtualRecordPrefix + queue}
}

// recordWriter writes the broker's records in the background.
type recordWriter struct {
	b *Broker
	// closing is set when the broker starts closing: the consumers it
	// detaches then keep their groups, for whoever serves next.
	closing atomic.Bool
	wake    chan struct{}
	mu      struct {
		sync.Mutex
		pending map[string]recordOp // by record key: the latest change wins
	}
}

type recordOp struct {
	sub store.Subscription
	del bool
}

func newRecordWriter(b *Broker) *recordWriter {
	return &recordWriter{b: b, wake: make(chan struct{}, 1)}
}

func (w *recordWriter) put(s store.Subscription) { w.add(recordOp{sub: s}) }
func (w *recordWriter) del(s store.Subscription) { w.add(recordOp{sub: s, del: true}) }

func (w *recordWriter) add(op recordOp) {
	if len(op.sub.Name) > maxRecordName {
		return
	}
	w.mu.Lock()
	if w.mu.pending == nil {
		w.mu.pending = map[string]recordOp{}
	}
	w.mu.pending[op.sub.Key()] = op
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes pending records until the broker stops.
func (w *recordWriter) run() {
	for {
		select {
		case <-w.b.stop:
			// What a clean stop left: its groups stay recorded. Briefly:
			// a store that lost its mastership does not hold Close up.
			w.flush(5 * time.Second)
			return
		case <-w.wake:
			w.flush(30 * time.Second)
		}
	}
}

// flush writes what is pending in one batch; a failure is logged and the
// records are left for the next change (they are a hint, not a promise).
func (w *recordWriter) flush(timeout time.Duration) {
	w.mu.Lock()
	ops := w.mu.pending
	w.mu.pending = nil
	w.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	var batch store.Batch
	for _, op := range ops {
		if op.del {
			batch.DeleteSub(op.sub)
		} else {
			batch.PutSub(op.sub)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := w.b.st.Apply(ctx, &batch); err != nil {
		w.b.log.Warn("cannot record message group owners or virtual topic queues", "records", len(ops), "err", err)
	}
}

// takeRecords takes the broker's own records out of the recovered
// subscriptions and restores what they say; the durable subscriptions are
// returned.
func (b *Broker) takeRecords(subs []store.Subscription) []store.Subscription {
	durables := subs[:0:0]
	groups := 0
	for _, s := range subs {
		if s.ClientID != "" {
			durables = append(durables, s)
			continue
		}
		switch {
		case strings.HasPrefix(s.Dest, groupRecordPrefix):
			if q := b.queue(s.Topic); q != nil {
				q.holdGroup(s.Selector, strings.TrimPrefix(s.Dest, groupRecordPrefix))
				groups++
			}
		case strings.HasPrefix(s.Dest, markRecordPrefix):
			b.marks.add(strings.TrimPrefix(s.Dest, markRecordPrefix))
		case strings.HasPrefix(s.Dest, virtualRecordPrefix):
			b.queue(s.Topic) // exists again, so the topic's messages reach it
		default:
			b.log.Warn("store holds a record of no known kind; ignored", "name", s.Name, "dest", s.Dest)
		}
	}
	if groups > 0 {
		b.log.Info("message groups wait for their consumers", "groups", groups, "for", b.cfg.GroupHold)
		b.goRun(b.releaseHeldGroups)
	}
	return durables
}

// releaseHeldGroups gives the recovered groups whose consumers did not come
// back within GroupHold to whoever takes their next message.
func (b *Broker) releaseHeldGroups() {
	t := time.NewTimer(b.cfg.GroupHold)
	defer t.Stop()
	select {
	case <-b.stop:
		return
	case <-t.C:
	}
	released := 0
	for _, q := range b.allQueues() {
		released += q.releaseHeldGroups()
	}
	if released > 0 {
		b.log.Info("message groups whose consumers did not come back are given anew", "groups", released)
	}
}
