package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient"
)

// Headers carried by every STOMP benchmark message.
const (
	HeaderSentNs = "pier-sent-ns" // send time, Unix nanoseconds
	HeaderRun    = "pier-run"     // run id; consumers ignore other runs' leftovers
)

// STOMP is the STOMP 1.2 Transport (stompclient): persistent sends carry
// persistent:true and wait for a receipt; Finish is DISCONNECT with a
// receipt.
type STOMP struct {
	Addr     string // broker host:port, or stomp+ssl://host:port (see stompclient.ParseAddr)
	Login    string
	Passcode string
	TLS      *tls.Config  // for stomp+ssl:// (nil: the system's roots)
	Logger   *slog.Logger // nil discards
}

// Name returns "stomp".
func (s *STOMP) Name() string { return "stomp" }

func (s *STOMP) dial(ctx context.Context, role string) (*stompclient.Conn, error) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := stompclient.Dial(ctx, s.Addr, stompclient.Options{
		Login: s.Login, Passcode: s.Passcode, TLS: s.TLS, Logger: log.With("role", role),
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	return c, nil
}

// Producer opens a STOMP connection sending to dest.
func (s *STOMP) Producer(ctx context.Context, role string, dest Destination) (Producer, error) {
	c, err := s.dial(ctx, role)
	if err != nil {
		return nil, err
	}
	return &stompProducer{conn: c, dest: dest.stomp()}, nil
}

// Consumer opens a STOMP connection with an auto-ack subscription on dest.
func (s *STOMP) Consumer(ctx context.Context, role string, dest Destination, prefetch int, deliver func(Delivery)) (Consumer, error) {
	c, err := s.dial(ctx, role)
	if err != nil {
		return nil, err
	}
	_, err = c.Subscribe(ctx, dest.stomp(), stompclient.SubscribeOptions{
		Prefetch: prefetch,
		Handler: func(m *stompclient.Message) {
			sent, _ := strconv.ParseInt(m.Header(HeaderSentNs), 10, 64)
			deliver(Delivery{Run: m.Header(HeaderRun), SentNs: sent})
		},
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("bench: %s: %w", role, err)
	}
	return c, nil // Close waits for the handler goroutine
}

type stompProducer struct {
	conn *stompclient.Conn
	dest string
}

func (p *stompProducer) Send(ctx context.Context, m Message) error {
	headers := []stomp.Header{
		{Key: HeaderRun, Value: m.Run},
		{Key: HeaderSentNs, Value: strconv.FormatInt(m.Sent.UnixNano(), 10)},
	}
	if m.Persistent {
		headers = append(headers, stompclient.Persistent())
	}
	return p.conn.Send(ctx, p.dest, m.Body, headers...)
}

func (p *stompProducer) Server() string                   { return p.conn.Server() }
func (p *stompProducer) Finish(ctx context.Context) error { return p.conn.Disconnect(ctx) }
func (p *stompProducer) Close() error                     { return p.conn.Close() }
