// Package store defines the durable storage the broker core writes through:
// one Store interface that the embedded journal, the SQL store and the
// replicated store implement, and the conformance suite (storetest) that every
// implementation must pass.
//
// The model is deliberately small. The store holds named message lists
// ("destinations": opaque keys chosen by the broker, e.g. "queue://orders" or
// "durable://client/sub"), each an ordered set of messages keyed by a sequence
// number the broker assigns (store-wide, strictly increasing), plus a registry
// of durable subscriptions. Every change is a Batch applied atomically and
// durably: when Apply returns nil, the whole batch survives a crash; if the
// process dies before, either all of it or none of it is recovered.
package store

import (
	"context"
	"errors"

	"github.com/piermq/pier/internal/message"
)

// Errors returned by stores.
var (
	// ErrClosed is returned by every call after Close.
	ErrClosed = errors.New("store: closed")
	// ErrFull is returned by Apply when a batch that adds data would take the
	// store past its configured size limit. Batches that only remove data are
	// always accepted.
	ErrFull = errors.New("store: size limit reached")
	// ErrUnavailable is returned (wrapped) by Apply when this store cannot
	// take writes here and now — a replica that is not, or no longer, its
	// group's master. The batch may or may not be kept by the group; a
	// client should reconnect (to the new master) and retry, which the
	// producer marks make safe. Protocol adapters close the client's
	// connection rather than report a failure.
	ErrUnavailable = errors.New("store: not available here (not the master)")
)

// OpKind says what one operation of a batch does.
type OpKind uint8

// Operation kinds.
const (
	// OpAdd stores Msg under (Dest, Seq). If Msg has a non-empty ProducerID
	// and a ProducerSeq > 0, it also raises that producer's high-water mark
	// (see State.ProducerSeqs).
	OpAdd OpKind = iota + 1
	// OpRemove deletes (Dest, Seq); removing an absent message is not an error.
	OpRemove
	// OpPutSub creates or replaces the durable subscription Sub.
	OpPutSub
	// OpDeleteSub deletes the durable subscription Sub.Key() and every
	// message stored under its destination key.
	OpDeleteSub
)

// Op is one operation of a batch.
type Op struct {
	Kind OpKind
	Dest string           // OpAdd, OpRemove
	Seq  uint64           // OpAdd, OpRemove
	Msg  *message.Message // OpAdd; the store must not modify it
	// Raw, for OpAdd, is the message already encoded (message.Marshal)
	// by whoever had it last, e.g. a replica applying a log entry. The
	// journal stores it as is, without decoding and re-encoding; Msg may
	// then be nil, for the journal only (other stores need Msg).
	Raw []byte
	Sub *Subscription // OpPutSub, OpDeleteSub
}

// Batch is a list of operations applied atomically, in order.
type Batch struct {
	Ops []Op
	// NoSync says the caller does not need the batch to be durable when
	// Apply returns (an acknowledgement nobody waits for): the store may
	// make it durable together with a later write, or within a short delay.
	// After a crash it may be lost, but never partly applied, and never
	// recovered while a later synced batch is not.
	NoSync bool
	// Mark, if non-zero, is recorded atomically with the batch:
	// State.Mark is the highest Mark of any applied batch. A replicated
	// store uses it for the index of the last log entry applied. Marks are
	// durable like the batch (a NoSync batch's mark may be lost with the
	// batch after a crash, never recovered without it), and a batch that
	// Apply rejects records none. A batch with no Ops but a Mark is applied
	// and records the mark (it adds no data, so ErrFull never rejects it);
	// one with neither is a no-op.
	Mark uint64
}

// SizeHint estimates the bytes b's ops take in a store's encoding of the
// batch (a journal record, a Raft log entry), so that its buffer is
// allocated once rather than grown message by message: each op's fixed
// fields and its message, a raw encoding's length or Size's estimate of
// one still to be marshalled. It may be more, never much less.
func (b *Batch) SizeHint() int {
	n := 0
	for i := range b.Ops {
		o := &b.Ops[i]
		n += 32 + len(o.Dest)
		switch {
		case o.Raw != nil:
			n += len(o.Raw)
		case o.Msg != nil:
			n += o.Msg.Size()
		case o.Sub != nil:
			s := o.Sub
			n += 64 + len(s.ClientID) + len(s.Name) + len(s.Topic) + len(s.Selector) + len(s.Dest) + len(s.Remote)
		}
	}
	return n
}

// Add appends an OpAdd.
func (b *Batch) Add(dest string, seq uint64, m *message.Message) {
	b.Ops = append(b.Ops, Op{Kind: OpAdd, Dest: dest, Seq: seq, Msg: m})
}

// Remove appends an OpRemove.
func (b *Batch) Remove(dest string, seq uint64) {
	b.Ops = append(b.Ops, Op{Kind: OpRemove, Dest: dest, Seq: seq})
}

// PutSub appends an OpPutSub.
func (b *Batch) PutSub(s Subscription) {
	b.Ops = append(b.Ops, Op{Kind: OpPutSub, Sub: &s})
}

// DeleteSub appends an OpDeleteSub.
func (b *Batch) DeleteSub(s Subscription) {
	b.Ops = append(b.Ops, Op{Kind: OpDeleteSub, Sub: &s})
}

// Subscription is a durable topic subscription: it outlives its consumer and
// keeps the topic's messages (under Dest) until they are acknowledged.
type Subscription struct {
	ClientID string
	Name     string
	Topic    string // the topic name, possibly a wildcard pattern
	Selector string
	NoLocal  bool
	Dest     string // the destination key its messages are stored under
	// Remote is set on a network bridge's subscription: the id of the
	// broker it forwards to; TTL is how many brokers a message may have
	// crossed to be forwarded (0: no limit). See broker.SubOptions.Remote.
	Remote string
	TTL    int
}

// Key identifies a durable subscription: client id and subscription name.
func (s Subscription) Key() string { return s.ClientID + "\x00" + s.Name }

// Record is one stored message, as returned by Scan.
type Record struct {
	Seq uint64
	Msg *message.Message
}

// DestState describes one non-empty destination at recovery.
type DestState struct {
	Dest  string
	Count int   // messages stored
	Bytes int64 // approximate encoded size of those messages
}

// State is what a store holds, as read by Recover.
type State struct {
	// LastSeq is the highest sequence number ever applied (0 for a new
	// store); the broker continues numbering after it. A store must never
	// report a LastSeq lower than one it reported before for data that is
	// still present.
	LastSeq       uint64
	Dests         []DestState
	Subscriptions []Subscription
	// ProducerSeqs maps producer ids to their high-water mark: the highest
	// Msg.ProducerSeq of any OpAdd the store applied for that producer (an
	// add counts only if its ProducerID is non-empty and its ProducerSeq >
	// 0). The broker uses it to recognise a message a client resends after
	// a failover with the same (producer id, producer sequence), even when
	// the first copy was consumed meanwhile. Nil when the store remembers
	// no producer.
	//
	// A mark is durable like the batch that set it and never goes down:
	// not when the producer's messages are removed (OpRemove, OpDeleteSub),
	// not when an add with a lower ProducerSeq follows, not across Close,
	// crashes, checkpoints, garbage collection or compaction. It does not
	// depend on the messages still being stored. The store may forget a
	// producer only when at least MinProducers other producers have been
	// written (had an OpAdd applied) more recently; a forgotten producer is
	// simply absent.
	ProducerSeqs map[string]int64
	// Mark is the highest Batch.Mark of any applied batch (0 if none had
	// one). It never goes down: not when a batch with a lower Mark
	// follows, not across Close, crashes, checkpoints, garbage collection
	// or compaction.
	Mark uint64
}

// MinProducers is how many of the most recently written producers every
// store remembers the high-water mark of (State.ProducerSeqs).
const MinProducers = 1 << 16

// Usage is the store's current footprint.
type Usage struct {
	Bytes    int64 // bytes of live data (or on disk, whichever the store can tell)
	Limit    int64 // configured limit; 0 means none
	Messages int64 // live messages
}

// Store is durable message storage. Implementations are safe for concurrent
// use; concurrent Apply calls should be grouped into one durable write (group
// commit) rather than serialised one sync each.
type Store interface {
	// Recover returns what the store holds. It is called once, before any
	// other method but Close.
	Recover(ctx context.Context) (*State, error)
	// Apply makes the batch durable, atomically. Ops within a batch apply in
	// order.
	Apply(ctx context.Context, b *Batch) error
	// Scan returns up to max records of dest with Seq > after, in Seq order,
	// stopping early once maxBytes of encoded messages have been gathered
	// (always at least one record if any exists). Messages returned are the
	// caller's to keep.
	Scan(ctx context.Context, dest string, after uint64, max int, maxBytes int64) ([]Record, error)
	// Usage reports the store's size.
	Usage() Usage
	// Close flushes and releases everything. Apply calls in progress either
	// complete or return an error.
	Close() error
}
