package stompclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/stompclient/stomptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startServer(t *testing.T, cfg stomptest.Config) *stomptest.Server {
	t.Helper()
	s, err := stomptest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, s *stomptest.Server, opts Options) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), s.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func recv(t *testing.T, sub *Subscription) *Message {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription channel closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	return nil
}

func wantHeaders(t *testing.T, f *stomp.Frame, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if got, ok := f.Lookup(kv[i]); !ok || got != kv[i+1] {
			t.Errorf("%s header %s = %q (present %v), want %q", f.Command, kv[i], got, ok, kv[i+1])
		}
	}
}

func TestConnectHeaders(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{Login: "u", Passcode: "p:w", ClientID: "cid", HeartBeat: 0})
	if c.Server() != "stomptest/0" {
		t.Errorf("Server() = %q", c.Server())
	}
	f := s.FramesOf(stomp.CmdConnect)[0]
	wantHeaders(t, f, "accept-version", "1.2", "host", "127.0.0.1", "login", "u", "passcode", "p:w", "client-id", "cid", "heart-beat", "0,0")
}

func TestLoginRejected(t *testing.T) {
	s := startServer(t, stomptest.Config{RejectLogin: "bad"})
	_, err := Dial(testCtx(t), s.Addr(), Options{Login: "bad"})
	var se *ServerError
	if !errors.As(err, &se) || se.Message != "login failed" {
		t.Fatalf("Dial err = %v, want ServerError login failed", err)
	}
}

func TestSendReceipts(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	if err := c.Send(ctx, "/queue/a", []byte("fire"), stomp.Header{Key: "x", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, "/queue/a", []byte("durable"), Persistent()); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, "/queue/a", []byte{0, 1, 2}, WithReceipt()); err != nil {
		t.Fatal(err)
	}
	// The last send waited for its receipt, so the server has all three.
	sends := s.FramesOf(stomp.CmdSend)
	if len(sends) != 3 {
		t.Fatalf("server got %d SENDs, want 3", len(sends))
	}
	if _, ok := sends[0].Lookup("receipt"); ok {
		t.Error("non-persistent send asked for a receipt")
	}
	wantHeaders(t, sends[0], "destination", "/queue/a", "x", "1")
	wantHeaders(t, sends[1], "persistent", "true")
	if sends[1].Get("receipt") == "" || sends[2].Get("receipt") == "" || sends[1].Get("receipt") == sends[2].Get("receipt") {
		t.Errorf("receipts not unique: %q %q", sends[1].Get("receipt"), sends[2].Get("receipt"))
	}
	if string(sends[2].Body) != "\x00\x01\x02" {
		t.Errorf("binary body = %q", sends[2].Body)
	}
	if s.Queued("/queue/a") != 3 {
		t.Errorf("queued = %d", s.Queued("/queue/a"))
	}
}

func TestErrorForReceiptKeepsConnection(t *testing.T) {
	s := startServer(t, stomptest.Config{ErrorDestination: "/queue/bad"})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	err := c.Send(ctx, "/queue/bad", []byte("x"), Persistent())
	var se *ServerError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "rejected") {
		t.Fatalf("err = %v, want ServerError", err)
	}
	if err := c.Send(ctx, "/queue/ok", []byte("x"), Persistent()); err != nil {
		t.Fatalf("connection unusable after answered ERROR: %v", err)
	}
}

func TestUnansweredErrorEndsConnection(t *testing.T) {
	s := startServer(t, stomptest.Config{ErrorDestination: "/queue/bad"})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "/queue/x", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, "/queue/bad", []byte("x")); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	var se *ServerError
	if !errors.As(c.Err(), &se) {
		t.Fatalf("Err = %v, want ServerError", c.Err())
	}
	if _, ok := <-sub.C; ok {
		t.Fatal("subscription still open after connection ended")
	}
	if err := c.Send(ctx, "/queue/ok", nil); !errors.As(err, &se) {
		t.Fatalf("send after end: %v", err)
	}
}

func TestSubscribeClientIndividualAck(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{ClientID: "c1"})
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "/topic/t", SubscribeOptions{
		Ack: AckClientIndividual, Prefetch: 10, Selector: "color = 'red'", DurableName: "d1",
		Headers: []stomp.Header{{Key: "activemq.exclusive", Value: "true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := s.FramesOf(stomp.CmdSubscribe)[0]
	wantHeaders(t, f, "id", sub.ID(), "destination", "/topic/t", "ack", "client-individual",
		"activemq.prefetchSize", "10", "selector", "color = 'red'", "activemq.subscriptionName", "d1", "activemq.exclusive", "true")

	for _, b := range []string{"one", "two"} {
		if err := c.Send(ctx, "/topic/t", []byte(b), stomp.Header{Key: "k", Value: "v:" + b}); err != nil {
			t.Fatal(err)
		}
	}
	m1, m2 := recv(t, sub), recv(t, sub)
	if string(m1.Body) != "one" || string(m2.Body) != "two" || m1.Header("k") != "v:one" || m1.Destination != "/topic/t" {
		t.Fatalf("got %q %q (k=%q dest=%q)", m1.Body, m2.Body, m1.Header("k"), m1.Destination)
	}
	if err := c.Ack(ctx, m2, WithReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := c.Nack(ctx, m1, WithReceipt()); err != nil {
		t.Fatal(err)
	}
	wantHeaders(t, s.FramesOf(stomp.CmdAck)[0], "id", m2.AckID)
	wantHeaders(t, s.FramesOf(stomp.CmdNack)[0], "id", m1.AckID)
	if m2.AckID == "" || m1.AckID == m2.AckID {
		t.Errorf("ack ids %q %q", m1.AckID, m2.AckID)
	}

	if err := sub.DestroyDurable(ctx); err != nil {
		t.Fatal(err)
	}
	wantHeaders(t, s.FramesOf(stomp.CmdUnsubscribe)[0], "id", sub.ID(), "activemq.subscriptionName", "d1")
	if _, ok := <-sub.C; ok {
		t.Fatal("C open after Unsubscribe")
	}
}

func TestAutoAckHasNoAckID(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "/queue/q", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantHeaders(t, s.FramesOf(stomp.CmdSubscribe)[0], "ack", "auto")
	if err := c.Send(ctx, "/queue/q", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Ack(ctx, recv(t, sub)); !errors.Is(err, ErrNoAck) {
		t.Fatalf("Ack on auto message: %v", err)
	}
}

func TestHandler(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	got := make(chan string, 3)
	if _, err := c.Subscribe(ctx, "/queue/h", SubscribeOptions{Handler: func(m *Message) { got <- string(m.Body) }}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"a", "b", "c"} {
		if err := c.Send(ctx, "/queue/h", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a", "b", "c"} {
		if b := <-got; b != want {
			t.Fatalf("handler got %q, want %q", b, want)
		}
	}
}

func TestTransaction(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Send(ctx, "/queue/t", []byte("in-tx"), WithReceipt()); err != nil {
		t.Fatal(err)
	}
	if n := s.Queued("/queue/t"); n != 0 {
		t.Fatalf("message visible before commit (%d)", n)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Queued("/queue/t"); n != 1 {
		t.Fatalf("queued after commit = %d, want 1", n)
	}
	tx2, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx2.Send(ctx, "/queue/t", []byte("aborted")); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.Queued("/queue/t"); n != 1 {
		t.Fatalf("queued after abort = %d, want 1", n)
	}
	wantHeaders(t, s.FramesOf(stomp.CmdBegin)[0], "transaction", tx.ID())
	wantHeaders(t, s.FramesOf(stomp.CmdSend)[0], "transaction", tx.ID())
	wantHeaders(t, s.FramesOf(stomp.CmdCommit)[0], "transaction", tx.ID())
	wantHeaders(t, s.FramesOf(stomp.CmdAbort)[0], "transaction", tx2.ID())
}

func TestDisconnect(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if d := s.FramesOf(stomp.CmdDisconnect); len(d) != 1 || d[0].Get("receipt") == "" {
		t.Fatalf("DISCONNECT frames %v", d)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err after Disconnect = %v", c.Err())
	}
	if err := c.Send(ctx, "/queue/a", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Disconnect = %v", err)
	}
}

func TestReceiptTimeout(t *testing.T) {
	s := startServer(t, stomptest.Config{NoReceipts: true})
	c := dial(t, s, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Send(ctx, "/queue/a", nil, Persistent()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestServerCrashDrainsSubscription(t *testing.T) {
	s := startServer(t, stomptest.Config{})
	c := dial(t, s, Options{})
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "/queue/q", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := c.Send(ctx, "/queue/q", []byte("m"), WithReceipt()); err != nil {
			t.Fatal(err)
		}
	}
	// The messages were routed before the receipts; the client may or may
	// not have read them all before the crash, but C must close after
	// delivering whatever it read.
	s.CloseConns()
	<-c.Done()
	if c.Err() == nil || errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err = %v, want a read error", c.Err())
	}
	n := 0
	for range sub.C {
		n++
	}
	if n > 3 {
		t.Fatalf("got %d messages, sent 3", n)
	}
}

func TestHeartBeatsSent(t *testing.T) {
	s := startServer(t, stomptest.Config{HeartBeat: "0,10"})
	c := dial(t, s, Options{HeartBeat: 10 * time.Millisecond})
	if c.sendEvery != 10*time.Millisecond || c.recvEvery != 0 {
		t.Fatalf("intervals send=%v recv=%v", c.sendEvery, c.recvEvery)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.HeartBeats() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no heart-beats received")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestParseAckMode(t *testing.T) {
	for _, ok := range []string{"auto", "client", "client-individual"} {
		if m, err := ParseAckMode(ok); err != nil || string(m) != ok {
			t.Errorf("ParseAckMode(%q) = %v, %v", ok, m, err)
		}
	}
	if _, err := ParseAckMode("individual"); err == nil {
		t.Error("accepted bad mode")
	}
}

func TestServerHeartBeatMissed(t *testing.T) {
	// The server promises a heart-beat every 10ms but never sends one; the
	// client must give up (after its margin) instead of waiting forever.
	s := startServer(t, stomptest.Config{HeartBeat: "10,0"})
	c := dial(t, s, Options{HeartBeat: 10 * time.Millisecond})
	if c.recvEvery != 10*time.Millisecond {
		t.Fatalf("recvEvery = %v", c.recvEvery)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection survived missing heart-beats")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Err = %v, want a read timeout", err)
	}
}

// TestRefusedSendReportsServerError: a server that refuses a SEND sends
// ERROR and closes; a client sending without waiting learns the server's
// reason from whichever send fails, not the closed socket. (Without the
// wait in writeFrame this failed in some of the rounds: the write broke
// before the read loop had taken the ERROR in.)
func TestRefusedSendReportsServerError(t *testing.T) {
	s := startServer(t, stomptest.Config{ErrorDestination: "/queue/bad", CloseOnError: true})
	ctx := testCtx(t)
	for round := 0; round < 50; round++ {
		c := dial(t, s, Options{})
		var err error
		for i := 0; i < 10000 && err == nil; i++ {
			err = c.Send(ctx, "/queue/bad", []byte("x"))
		}
		var se *ServerError
		if !errors.As(err, &se) {
			t.Fatalf("round %d: send failed with %v, want the server's ERROR", round, err)
		}
		c.Close()
	}
}
