package stompclient

import (
	"context"
	"fmt"

	"github.com/piermq/pier/internal/protocol/stomp"
)

// Persistent returns the header that makes a sent message persistent
// (STOMP's default on ActiveMQ is non-persistent). Send waits for the
// receipt of a persistent message.
func Persistent() stomp.Header { return stomp.Header{Key: "persistent", Value: "true"} }

// WithReceipt returns a receipt header: a call given it waits for the
// server's RECEIPT. The client replaces the value with its own id.
func WithReceipt() stomp.Header { return stomp.Header{Key: "receipt"} }

// wantsReceipt reports whether headers ask to wait for a receipt.
func wantsReceipt(f *stomp.Frame) bool {
	_, ok := f.Lookup("receipt")
	return ok || f.Get("persistent") == "true"
}

// Send sends body to a STOMP destination such as /queue/orders. It waits
// for the receipt when the headers include Persistent() or WithReceipt();
// otherwise it returns once the frame is written.
func (c *Conn) Send(ctx context.Context, dest string, body []byte, headers ...stomp.Header) error {
	f := &stomp.Frame{Command: stomp.CmdSend, Body: body, Headers: make([]stomp.Header, 0, len(headers)+2)}
	f.Add("destination", dest)
	f.Headers = append(f.Headers, headers...)
	if err := c.request(ctx, f, wantsReceipt(f)); err != nil {
		return fmt.Errorf("stompclient: send to %s: %w", dest, err)
	}
	return nil
}

// Ack acknowledges m (and, on a client-ack subscription, every earlier
// message of it). It waits for a receipt only if headers include WithReceipt().
func (c *Conn) Ack(ctx context.Context, m *Message, headers ...stomp.Header) error {
	return c.ack(ctx, stomp.CmdAck, m, headers)
}

// Nack rejects m. On ActiveMQ the message goes to the dead-letter queue.
func (c *Conn) Nack(ctx context.Context, m *Message, headers ...stomp.Header) error {
	return c.ack(ctx, stomp.CmdNack, m, headers)
}

func (c *Conn) ack(ctx context.Context, cmd string, m *Message, headers []stomp.Header) error {
	if m.AckID == "" {
		return ErrNoAck
	}
	f := stomp.NewFrame(cmd, "id", m.AckID)
	f.Headers = append(f.Headers, headers...)
	if err := c.request(ctx, f, wantsReceipt(f)); err != nil {
		return fmt.Errorf("stompclient: %s %s: %w", cmd, m.MessageID, err)
	}
	return nil
}

// Tx is a STOMP transaction. Sends and acks made through it take effect
// at Commit; the server aborts it if the connection ends first.
type Tx struct {
	c  *Conn
	id string
}

// Begin starts a transaction and waits for the server's receipt.
func (c *Conn) Begin(ctx context.Context) (*Tx, error) {
	tx := &Tx{c: c, id: c.newID("tx-")}
	if err := c.request(ctx, stomp.NewFrame(stomp.CmdBegin, "transaction", tx.id), true); err != nil {
		return nil, fmt.Errorf("stompclient: begin: %w", err)
	}
	return tx, nil
}

// ID returns the transaction id.
func (tx *Tx) ID() string { return tx.id }

func (tx *Tx) header() stomp.Header { return stomp.Header{Key: "transaction", Value: tx.id} }

// Send sends within the transaction (see Conn.Send).
func (tx *Tx) Send(ctx context.Context, dest string, body []byte, headers ...stomp.Header) error {
	return tx.c.Send(ctx, dest, body, append(headers[:len(headers):len(headers)], tx.header())...)
}

// Ack acknowledges within the transaction (see Conn.Ack).
func (tx *Tx) Ack(ctx context.Context, m *Message, headers ...stomp.Header) error {
	return tx.c.Ack(ctx, m, append(headers[:len(headers):len(headers)], tx.header())...)
}

// Nack rejects within the transaction (see Conn.Nack).
func (tx *Tx) Nack(ctx context.Context, m *Message, headers ...stomp.Header) error {
	return tx.c.Nack(ctx, m, append(headers[:len(headers):len(headers)], tx.header())...)
}

// Commit commits the transaction and waits for the receipt.
func (tx *Tx) Commit(ctx context.Context) error {
	if err := tx.c.request(ctx, stomp.NewFrame(stomp.CmdCommit, "transaction", tx.id), true); err != nil {
		return fmt.Errorf("stompclient: commit %s: %w", tx.id, err)
	}
	return nil
}

// Abort rolls the transaction back and waits for the receipt.
func (tx *Tx) Abort(ctx context.Context) error {
	if err := tx.c.request(ctx, stomp.NewFrame(stomp.CmdAbort, "transaction", tx.id), true); err != nil {
		return fmt.Errorf("stompclient: abort %s: %w", tx.id, err)
	}
	return nil
}
