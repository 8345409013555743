package bench

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Transport opens a benchmark's connections to one broker in one protocol.
// Run opens every connection before it starts the clock and closes every
// connection before it returns. Implementations: STOMP and OpenWire.
type Transport interface {
	// Name is the protocol, as shown in the result: "stomp", "openwire".
	Name() string
	// Producer opens a connection that sends to dest. role ("producer-0")
	// names it in errors and logs.
	Producer(ctx context.Context, role string, dest Destination) (Producer, error)
	// Consumer opens a connection subscribed to dest (prefetch 0 = the
	// broker's or client's default) that calls deliver for each message,
	// one at a time, until Close.
	Consumer(ctx context.Context, role string, dest Destination, prefetch int, deliver func(Delivery)) (Consumer, error)
}

// Producer is one producer connection.
type Producer interface {
	// Send sends m. A persistent message is sent synchronously: Send
	// returns once the broker has accepted it. A non-persistent one may
	// return as soon as it is written.
	Send(ctx context.Context, m Message) error
	// Server names the broker (its product/version or broker name).
	Server() string
	// Finish closes the connection gracefully and returns once the broker
	// has every message sent on it, non-persistent ones included.
	Finish(ctx context.Context) error
	// Close releases the connection at once; it may follow Finish.
	Close() error
}

// Consumer is one consumer connection.
type Consumer interface {
	// Done is closed when the connection ends for any reason.
	Done() <-chan struct{}
	// Err says why the connection ended.
	Err() error
	// Close ends the connection; deliver is not called after it returns.
	Close() error
}

// Message is what a producer sends: the run id and send timestamp travel
// as message headers or properties, next to the body.
type Message struct {
	Run        string
	Sent       time.Time
	Body       []byte
	Persistent bool
}

// Delivery is what a consumer hands to the load generator: the run id and
// the send timestamp (Unix ns; 0 when the message had none) of a received
// message.
type Delivery struct {
	Run    string
	SentNs int64
}

// Destination is a queue or a topic, independent of the protocol.
type Destination struct {
	Name  string
	Topic bool
}

// ParseDestination reads queue://NAME, topic://NAME, /queue/NAME or
// /topic/NAME.
func ParseDestination(s string) (Destination, error) {
	for _, p := range []struct {
		prefix string
		topic  bool
	}{{"queue://", false}, {"topic://", true}, {"/queue/", false}, {"/topic/", true}} {
		if name, ok := strings.CutPrefix(s, p.prefix); ok {
			if name == "" {
				return Destination{}, fmt.Errorf("bench: destination %q: empty name", s)
			}
			if strings.HasPrefix(name, "/") {
				// queue:///orders would make a queue called /orders.
				return Destination{}, fmt.Errorf("bench: destination %q: a name does not start with '/' (did you mean %s%s?)",
					s, p.prefix, strings.TrimLeft(name, "/"))
			}
			return Destination{Name: name, Topic: p.topic}, nil
		}
	}
	return Destination{}, fmt.Errorf("bench: destination %q: want queue://NAME, topic://NAME, /queue/NAME or /topic/NAME", s)
}

// String returns queue://NAME or topic://NAME.
func (d Destination) String() string {
	if d.Topic {
		return "topic://" + d.Name
	}
	return "queue://" + d.Name
}

// stomp returns the STOMP form, /queue/NAME or /topic/NAME.
func (d Destination) stomp() string {
	if d.Topic {
		return "/topic/" + d.Name
	}
	return "/queue/" + d.Name
}
