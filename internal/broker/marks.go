package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// Marks are small durable keys that a protocol adapter writes atomically
// with a message it sends or a delivery it acknowledges, and removes later:
// what the adapter must still know after a crash or a failover to another
// member of the group. MQTT's exactly-once exchanges use them: a QoS 2
// PUBLISH is stored with the mark "received, PUBREL pending" so that the
// same PUBLISH sent again (DUP) after a failover is recognised and not
// stored twice; a QoS 2 delivery the client has received (PUBREC) is
// acknowledged with the mark "PUBREL pending" so that the next master sends
// the PUBREL instead of the message again.
//
// A mark rides on the store's subscription records like the broker's own
// (records.go): empty client id, Dest "mark://KEY". Unlike those, marks are
// written in the batch of the change they belong to, and their removal is
// synced before Unmark returns.

const markRecordPrefix = "mark://"

// ErrMarkTooLong refuses a mark whose key no store could index.
var ErrMarkTooLong = fmt.Errorf("broker: mark longer than %d bytes", maxRecordName-len(markRecordPrefix))

func markRecord(key string) store.Subscription {
	return store.Subscription{Name: "mark\x00" + key, Dest: markRecordPrefix + key}
}

type markSet struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (s *markSet) add(key string) {
	s.mu.Lock()
	if s.keys == nil {
		s.keys = map[string]struct{}{}
	}
	s.keys[key] = struct{}{}
	s.mu.Unlock()
}

func (s *markSet) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.keys[key]
	return ok
}

func checkMark(key string) error {
	if len(markRecord(key).Name) > maxRecordName {
		return ErrMarkTooLong
	}
	return nil
}

// Marked reports whether key is marked.
func (b *Broker) Marked(key string) bool { return b.marks.has(key) }

// Marks returns the marked keys that start with prefix, sorted.
func (b *Broker) Marks(prefix string) []string {
	b.marks.mu.Lock()
	var out []string
	for k := range b.marks.keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	b.marks.mu.Unlock()
	sort.Strings(out)
	return out
}

// Mark writes marks; it returns once they are durable.
func (b *Broker) Mark(ctx context.Context, keys ...string) error {
	var batch store.Batch
	for _, k := range keys {
		if err := checkMark(k); err != nil {
			return err
		}
		batch.PutSub(markRecord(k))
	}
	if err := b.st.Apply(ctx, &batch); err != nil {
		return err
	}
	for _, k := range keys {
		b.marks.add(k)
	}
	return nil
}

// Unmark removes marks; it returns once the removal is durable.
func (b *Broker) Unmark(ctx context.Context, keys ...string) error {
	var batch store.Batch
	for _, k := range keys {
		if b.marks.has(k) {
			batch.DeleteSub(markRecord(k))
		}
	}
	if len(batch.Ops) == 0 {
		return nil
	}
	if err := b.st.Apply(ctx, &batch); err != nil {
		return err
	}
	b.marks.mu.Lock()
	for _, k := range keys {
		delete(b.marks.keys, k)
	}
	b.marks.mu.Unlock()
	return nil
}

// SendMarked sends m (as Send, outside any transaction) and marks key in
// the same durable write. resend says the client may have sent this
// message before: if key is marked already, the message is taken for that
// one and not sent again (dup is true).
func (c *Conn) SendMarked(ctx context.Context, m *message.Message, key string, resend bool) (dup bool, err error) {
	if err := checkMark(key); err != nil {
		return false, err
	}
	if resend && c.b.marks.has(key) {
		return true, nil
	}
	var also store.Batch
	also.PutSub(markRecord(key))
	if err := c.send(ctx, m, "", also, nil); err != nil {
		return false, err
	}
	c.b.marks.add(key)
	return false, nil
}

// AckMarked acknowledges one delivery (as Ack, waiting for the write) and
// marks key in the same durable write.
func (c *Conn) AckMarked(ctx context.Context, subID string, tag uint64, key string) error {
	if err := checkMark(key); err != nil {
		return err
	}
	var also store.Batch
	also.PutSub(markRecord(key))
	err := c.ack(ctx, subID, "", true, also.Ops, func(s *Subscription) ([]held, error) {
		return s.take(tag, s.opts.Ack == AckClient)
	})
	if err == nil {
		c.b.marks.add(key)
	}
	return err
}

// ScheduleMarked sends m for delivery after delay through the scheduler
// (as a send with AMQ_SCHEDULED_DELAY) and marks prefix+the job's id in
// the same durable write; it returns the id, for RemoveScheduledJob. The
// job and its mark survive a failover together (MQTT's delayed wills).
func (c *Conn) ScheduleMarked(ctx context.Context, m *message.Message, delay time.Duration, prefix string) (string, error) {
	if c.b.cfg.NoScheduler {
		return "", ErrNoScheduler
	}
	if err := checkMark(prefix + strings.Repeat("j", 100)); err != nil { // room for the job's id
		return "", err
	}
	if m.Properties == nil {
		m.Properties = map[string]any{}
	}
	m.Properties[PropScheduledDelay] = max(delay.Milliseconds(), 1)
	jm := &jobMark{prefix: prefix}
	if err := c.send(ctx, m, "", store.Batch{}, jm); err != nil {
		return "", err
	}
	if jm.id == "" {
		return "", fmt.Errorf("broker: no job was made for %s", m.Dest)
	}
	c.b.marks.add(prefix + jm.id)
	return jm.id, nil
}

// ErrNoScheduler refuses a scheduled send when the scheduler is off.
var ErrNoScheduler = errors.New("broker: the scheduler is off (broker.scheduler: false)")
