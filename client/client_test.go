package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestConnectSendReceive(t *testing.T) {
	addr := startPier(t)
	c := dial(t, "tcp://"+addr, Options{ClientID: "basic"})
	if c.ClientID() != "basic" {
		t.Fatalf("ClientID = %q", c.ClientID())
	}
	s := session(t, c, AutoAck)
	q := Queue("basic")
	p := producer(t, s, q)
	sent := send(t, p, "hello")
	if sent.ID == "" || sent.Destination.String() != "queue://basic" || sent.Timestamp.IsZero() {
		t.Fatalf("send did not set headers: %+v", sent)
	}
	k := consumer(t, s, q)
	m := receiveText(t, k, "hello")
	if m.ID != sent.ID {
		t.Errorf("message id %q, sent %q", m.ID, sent.ID)
	}
	if !m.Persistent || m.Priority != 4 || m.Redelivered || m.DeliveryCount != 1 {
		t.Errorf("headers: persistent %v priority %d redelivered %v count %d", m.Persistent, m.Priority, m.Redelivered, m.DeliveryCount)
	}
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Session(testCtx(t), AutoAck); !errors.Is(err, ErrClosed) {
		t.Fatalf("session after close: %v", err)
	}
}

func TestDuplicateClientID(t *testing.T) {
	addr := startPier(t)
	dial(t, addr, Options{ClientID: "dup"})
	_, err := Dial(testCtx(t), addr, Options{ClientID: "dup"})
	if !errors.Is(err, ErrInvalidClientID) {
		t.Fatalf("second Dial: %v, want ErrInvalidClientID", err)
	}
	var be *BrokerError
	if !errors.As(err, &be) || be.Class != "javax.jms.InvalidClientIDException" {
		t.Fatalf("error %v is not a *BrokerError naming InvalidClientIDException", err)
	}
}

func TestDialErrors(t *testing.T) {
	if _, err := Dial(testCtx(t), "failover:(tcp://127.0.0.1:1)?startupMaxReconnectAttempts=2&initialReconnectDelay=1", Options{}); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("failover to a closed port: %v, want ErrConnectionLost", err)
	}
	if _, err := Dial(testCtx(t), "tcp://127.0.0.1:1?bogus=1", Options{}); !errors.Is(err, ErrInvalidURL) {
		t.Fatalf("unknown option: %v, want ErrInvalidURL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := Dial(ctx, "127.0.0.1:1", Options{}); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}

func TestBodiesAndProperties(t *testing.T) {
	addr := startPier(t)
	c := dial(t, addr, Options{})
	s := session(t, c, AutoAck)
	q := Queue("bodies")
	p := producer(t, s, q)
	k := consumer(t, s, q)
	msgs := []*Message{
		NewMessage(),
		NewTextMessage("héllo wörld"),
		NewBytesMessage([]byte{0, 1, 2, 255}),
		NewMapMessage(map[string]any{"s": "x", "i": int32(7), "b": true, "f": 1.5, "raw": []byte("r")}),
		NewStreamMessage([]any{"a", int64(2), false, int16(3)}),
		NewObjectMessage([]byte{0xac, 0xed, 0, 5}),
	}
	props := map[string]any{"bool": true, "byte": int8(-3), "short": int16(300), "int": int32(70000),
		"long": int64(1) << 40, "float": float32(1.25), "double": 2.5, "string": "str", "bytes": []byte("xy"),
		"char": uint16('Z')}
	for _, m := range msgs {
		for n, v := range props {
			if err := m.SetProperty(n, v); err != nil {
				t.Fatal(err)
			}
		}
		m.CorrelationID, m.Type, m.ReplyTo = "corr", "kind", Topic("replies")
		if err := p.Send(testCtx(t), m, Priority(7), TTL(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range msgs {
		got, err := k.Receive(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind() != want.Kind() {
			t.Fatalf("message %d: kind %v, want %v", i, got.Kind(), want.Kind())
		}
		checkBody(t, got, want)
		for n, v := range props {
			if g := got.Property(n); !equalValue(g, v) {
				t.Errorf("message %d property %s = %#v, want %#v", i, n, g, v)
			}
		}
		if got.CorrelationID != "corr" || got.Type != "kind" || got.ReplyTo.String() != "topic://replies" ||
			got.Priority != 7 || got.Expiration.IsZero() {
			t.Errorf("message %d headers: %+v", i, got)
		}
	}
}

func checkBody(t *testing.T, got, want *Message) {
	t.Helper()
	switch want.Kind() {
	case TextBody:
		g, _ := got.Text()
		w, _ := want.Text()
		if g != w {
			t.Errorf("text %q, want %q", g, w)
		}
	case BytesBody:
		if string(got.Bytes()) != string(want.Bytes()) {
			t.Errorf("bytes %v, want %v", got.Bytes(), want.Bytes())
		}
	case ObjectBody:
		if string(got.Object()) != string(want.Object()) {
			t.Errorf("object %v, want %v", got.Object(), want.Object())
		}
	case MapBody:
		for k, v := range want.Map() {
			if !equalValue(got.Map()[k], v) {
				t.Errorf("map[%s] = %#v, want %#v", k, got.Map()[k], v)
			}
		}
	case StreamBody:
		if len(got.Stream()) != len(want.Stream()) {
			t.Fatalf("stream %v, want %v", got.Stream(), want.Stream())
		}
		for i, v := range want.Stream() {
			if !equalValue(got.Stream()[i], v) {
				t.Errorf("stream[%d] = %#v, want %#v", i, got.Stream()[i], v)
			}
		}
	}
}

func equalValue(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && string(ab) == string(bb)
	}
	return a == b
}

func TestPropertyConversions(t *testing.T) {
	m := NewMessage()
	m.SetProperty("b", int8(5))
	m.SetProperty("s", "42")
	m.SetProperty("f", float32(1.5))
	m.SetProperty("n", 9)
	if v, err := m.IntProperty("b"); err != nil || v != 5 {
		t.Errorf("IntProperty(byte) = %v, %v", v, err)
	}
	if v, err := m.LongProperty("s"); err != nil || v != 42 {
		t.Errorf("LongProperty(string) = %v, %v", v, err)
	}
	if v, err := m.DoubleProperty("f"); err != nil || v != 1.5 {
		t.Errorf("DoubleProperty(float) = %v, %v", v, err)
	}
	if v, err := m.StringProperty("f"); err != nil || v != "1.5" {
		t.Errorf("StringProperty(float) = %v, %v", v, err)
	}
	if v, err := m.IntProperty("n"); err != nil || v != 9 {
		t.Errorf("IntProperty(int) = %v, %v", v, err)
	}
	if _, err := m.ByteProperty("f"); !errors.Is(err, ErrPropertyType) {
		t.Errorf("ByteProperty(float): %v", err)
	}
	if _, err := m.IntProperty("missing"); !errors.Is(err, ErrPropertyType) {
		t.Errorf("IntProperty(missing): %v", err)
	}
	if v, err := m.BoolProperty("missing"); err != nil || v {
		t.Errorf("BoolProperty(missing) = %v, %v", v, err)
	}
	if err := m.SetProperty("x", struct{}{}); !errors.Is(err, ErrPropertyType) {
		t.Errorf("SetProperty(struct): %v", err)
	}
}
