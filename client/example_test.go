package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/piermq/pier/client"
)

// Send a persistent text message to a queue and receive it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, "tcp://localhost:61616", client.Options{ClientID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	sess, err := conn.Session(ctx, client.AutoAck)
	if err != nil {
		log.Fatal(err)
	}
	orders := client.Queue("orders")
	prod, err := sess.Producer(ctx, orders)
	if err != nil {
		log.Fatal(err)
	}
	msg := client.NewTextMessage("order 42")
	msg.SetProperty("priority", "high")
	if err := prod.Send(ctx, msg); err != nil { // waits for the broker: persistent
		log.Fatal(err)
	}
	cons, err := sess.Consumer(ctx, orders, client.Selector("priority = 'high'"))
	if err != nil {
		log.Fatal(err)
	}
	got, err := cons.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	text, _ := got.Text()
	fmt.Println(text)
}

// A transacted session: sends and receipts take effect together at Commit.
func ExampleSession_Commit() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, "localhost:61616", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, _ := conn.Session(ctx, client.Transacted)
	in, _ := tx.Consumer(ctx, client.Queue("in"))
	out, _ := tx.Producer(ctx, client.Queue("out"))
	m, err := in.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	text, _ := m.Text()
	if err := out.Send(ctx, client.NewTextMessage("processed: "+text)); err != nil {
		tx.Rollback(ctx) // m is redelivered
		return
	}
	if err := tx.Commit(ctx); errors.Is(err, client.ErrTransactionRolledBack) {
		log.Print("rolled back; m will be redelivered")
	}
}

// Request/reply through a temporary queue.
func ExampleConn_TempQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, "localhost:61616", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	sess, _ := conn.Session(ctx, client.AutoAck)
	replies, _ := conn.TempQueue(ctx)
	replyCons, _ := sess.Consumer(ctx, replies)
	req := client.NewTextMessage("ping")
	req.ReplyTo = replies
	req.CorrelationID = "1"
	prod, _ := sess.Producer(ctx, nil) // anonymous
	if err := prod.Send(ctx, req, client.To(client.Queue("service"))); err != nil {
		log.Fatal(err)
	}
	reply, err := replyCons.Receive(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(reply.CorrelationID)
}

// A pull consumer (prefetch 0): each Receive asks the broker for one
// message and gives up at the context's deadline.
func ExampleConsumer_Receive_pull() {
	ctx := context.Background()
	conn, err := client.Dial(ctx, "localhost:61616", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close(ctx)
	sess, _ := conn.Session(ctx, client.ClientAck)
	cons, _ := sess.Consumer(ctx, client.Queue("jobs"), client.Prefetch(0))
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := cons.Receive(rctx)
	if errors.Is(err, client.ErrNoMessage) || errors.Is(err, context.DeadlineExceeded) {
		return // nothing waiting
	}
	if err != nil {
		log.Fatal(err)
	}
	m.Ack(ctx)
}
