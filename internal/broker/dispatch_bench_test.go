package broker

import (
	"context"
	"fmt"
	"testing"

	"github.com/piermq/pier/internal/message"
)

// ackingSink acknowledges each delivery as it arrives, in the dispatching
// goroutine, so a benchmark measures send, dispatch and acknowledgement
// without hand-offs between goroutines.
type ackingSink struct{ c *Conn }

func (k *ackingSink) Deliver(d *Delivery) {
	if err := k.c.Ack(context.Background(), d.Sub.ID(), d.Tag, "", false); err != nil {
		panic(err)
	}
}

// BenchmarkQueueSendAck is one non-persistent message sent to a queue,
// dispatched to one of its consumers and acknowledged.
func BenchmarkQueueSendAck(b *testing.B) {
	for _, consumers := range []int{1, 4} {
		b.Run(fmt.Sprintf("consumers=%d", consumers), func(b *testing.B) {
			br, err := New(Config{MaxRedeliveries: DefaultMaxRedeliveries}, newMemStore(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := br.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			p, err := br.Connect(context.Background(), ConnOptions{Sink: &ackingSink{}})
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < consumers; i++ {
				k := &ackingSink{}
				c, err := br.Connect(context.Background(), ConnOptions{Sink: k})
				if err != nil {
					b.Fatal(err)
				}
				k.c = c
				if _, err := c.Subscribe(context.Background(), SubOptions{ID: "s", Dest: q("bench"), Ack: AckIndividual}); err != nil {
					b.Fatal(err)
				}
			}
			body := []byte("payload")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := &message.Message{Dest: q("bench"), Body: body, BodyKind: message.Text, Priority: 4}
				if err := p.Send(context.Background(), m, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if st, _ := br.QueueStats("bench"); st.Pending != 0 || st.InFlight != 0 {
				b.Fatalf("left behind: %+v", st)
			}
		})
	}
}

// BenchmarkPickConsumer is the choice of a consumer for one message:
// "room" has every consumer with room in its window, "last" only the last
// one added (the others are full, so each choice passes over them), "lower"
// a higher-priority half that is full and a lower half with room.
func BenchmarkPickConsumer(b *testing.B) {
	m := &message.Message{Dest: q("bench"), Priority: 4}
	for _, n := range []int{1, 4, 16} {
		for _, shape := range []string{"room", "last", "lower"} {
			if n == 1 && shape != "room" {
				continue
			}
			b.Run(fmt.Sprintf("consumers=%d/%s", n, shape), func(b *testing.B) {
				qu := &queue{}
				for i := 0; i < n; i++ {
					o := SubOptions{ID: fmt.Sprint(i), Dest: q("bench")}
					if shape == "lower" && i < n/2 {
						o.Priority = 1
					}
					s := newSubscription(nil, o)
					if shape == "last" && i < n-1 || shape == "lower" && i < n/2 {
						s.mu.credit = 0
					}
					qu.addConsumer(s)
				}
				qu.mu.Lock()
				defer qu.mu.Unlock()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if s, _, _ := qu.pickConsumer(m); s == nil {
						b.Fatal("no consumer picked")
					}
				}
			})
		}
	}
}
