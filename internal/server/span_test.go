package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient"
)

// traffic is STOMP producers and a consumer on one queue, until their
// connections end.
type traffic struct {
	t  *testing.T
	wg sync.WaitGroup
	mu struct {
		sync.Mutex
		sent map[string]bool // receipted
		got  map[string]bool // delivered
	}
}

const loadQueue = "/queue/load"

func startTraffic(t *testing.T, addr string, producers int) *traffic {
	t.Helper()
	tr := &traffic{t: t}
	tr.mu.sent, tr.mu.got = map[string]bool{}, map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cons, err := stompclient.Dial(ctx, addr, stompclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cons.Subscribe(ctx, loadQueue, stompclient.SubscribeOptions{Ack: stompclient.AckClientIndividual, Prefetch: 20})
	if err != nil {
		cons.Close()
		t.Fatal(err)
	}
	tr.wg.Add(1)
	go func() {
		defer tr.wg.Done()
		defer cons.Close()
		for m := range sub.C {
			tr.mu.Lock()
			tr.mu.got[string(m.Body)] = true
			tr.mu.Unlock()
			cons.Ack(ctx, m) // lost with the connection: delivered again
		}
	}()
	for p := range producers {
		c, err := stompclient.Dial(ctx, addr, stompclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			defer c.Close()
			for i := 0; ; i++ {
				body := fmt.Sprintf("p%d-%d", p, i)
				if err := c.Send(ctx, loadQueue, []byte(body), stompclient.Persistent()); err != nil {
					return
				}
				tr.mu.Lock()
				tr.mu.sent[body] = true
				tr.mu.Unlock()
			}
		}()
	}
	return tr
}

func (tr *traffic) counts() (sent, got int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.mu.sent), len(tr.mu.got)
}

// undelivered returns the receipted messages not delivered yet.
func (tr *traffic) undelivered() map[string]bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	left := map[string]bool{}
	for body := range tr.mu.sent {
		if !tr.mu.got[body] {
			left[body] = true
		}
	}
	return left
}

// ended waits for every client to see its connection end.
func (tr *traffic) ended() {
	tr.t.Helper()
	done := make(chan struct{})
	go func() {
		tr.wg.Wait()
		close(done)
	}()
	receive(tr.t, "the clients' connections to end", done)
}

// TestSpanEndsUnderLoad: when mastership is lost while STOMP clients send
// and receive, the listener closes, every connection drops and the broker
// is closed; the server waits to be master again and then serves a new
// broker, returned by Broker(), that delivers every receipted message not
// acknowledged before.
func TestSpanEndsUnderLoad(t *testing.T) {
	leakCheck(t)
	st, g := newFakeStore(), newFakeGate()
	h := start(t, Deps{OpenStore: opener(st, g), Listeners: []Listener{{Name: "stomp", Addr: "127.0.0.1:0",
		New: func(b *broker.Broker) Protocol { return stomp.NewServer(stomp.Config{}, b, nil) }}}})
	end1 := g.grant()
	t.Cleanup(end1)
	h.ready()
	b1, addr1 := h.srv.Broker(), h.srv.Addr("stomp").String()
	if b1 == nil {
		t.Fatal("ready without a broker")
	}
	// The console's view, read throughout (for the race detector).
	polling := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-polling:
				return
			default:
			}
			if b := h.srv.Broker(); b != nil {
				b.QueueStats("load")
			}
			h.srv.Serving()
			h.srv.Addr("stomp")
			time.Sleep(100 * time.Microsecond)
		}
	}()
	defer func() {
		close(polling)
		<-polled
	}()

	tr := startTraffic(t, addr1, 3)
	waitFor(t, "traffic", func() bool { sent, got := tr.counts(); return sent >= 300 && got >= 100 })
	end1()
	tr.ended()
	h.awaitsAgain(g)
	if h.srv.Broker() != nil || h.srv.Serving() {
		t.Errorf("between spans: Broker() = %v, Serving() = %v", h.srv.Broker(), h.srv.Serving())
	}
	if !refused(addr1) {
		t.Error("the listener still accepts between spans")
	}
	if _, err := b1.Connect(context.Background(), broker.ConnOptions{}); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("the first span's broker: Connect: %v, want broker.ErrClosed", err)
	}

	t.Cleanup(g.grant())
	waitFor(t, "the second span", func() bool { return h.srv.Broker() != nil })
	if b2 := h.srv.Broker(); b2 == b1 {
		t.Fatal("the second span serves the first span's broker")
	}
	left := tr.undelivered()
	sent, got := tr.counts()
	t.Logf("first span: %d sends receipted, %d messages delivered; %d receipted and not delivered", sent, got, len(left))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := stompclient.Dial(ctx, h.srv.Addr("stomp").String(), stompclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, loadQueue, stompclient.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n := len(left); len(left) > 0; {
		select {
		case m := <-sub.C:
			delete(left, string(m.Body))
		case <-ctx.Done():
			t.Fatalf("%d of %d receipted messages not delivered in the second span, e.g. %v", len(left), n, left)
		}
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := g.handoffs.Load(); n != 1 {
		t.Errorf("Handoff called %d times at the stop while master, want 1", n)
	}
	if n := st.closes.Load(); n != 1 {
		t.Errorf("store closed %d times, want 1", n)
	}
}
