//go:build crossprocess

package client_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
)

// tricky has supplementary characters (emoji), NUL, CJK, Latin-1 and U+FFFF.
const tricky = "emoji \U0001F600\U0001F389 nul[\x00] cjk 中文 éß \uFFFF end"

// testConnect: a connection with a client id; a second one with the same id
// is refused with a typed error, and the id is free again once the first
// closes.
func testConnect(t *testing.T, b *broker) {
	id := unique("cid")
	c := dial(t, b, client.Options{ClientID: id})
	if c.ClientID() != id {
		t.Errorf("ClientID() = %q, want %q", c.ClientID(), id)
	}
	t.Logf("broker name %q", c.BrokerName())
	_, err := client.Dial(step(t), "tcp://"+b.addr, client.Options{ClientID: id})
	var be *client.BrokerError
	if !errors.Is(err, client.ErrInvalidClientID) || !errors.As(err, &be) {
		t.Fatalf("second connection with client id %q: got %v, want an error matching ErrInvalidClientID and *BrokerError", id, err)
	}
	t.Logf("duplicate client id: %v", err)
	if err := c.Close(step(t)); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Errorf("Done() not closed after Close")
	}
	dial(t, b, client.Options{ClientID: id}) // free again
	anon := dial(t, b, client.Options{})
	if anon.ClientID() == "" {
		t.Errorf("no generated client id")
	}
}

// testBodies: every body kind round-trips, values and Go types intact.
func testBodies(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("bodies"))
	p := producer(t, s, q)
	k := consumer(t, s, q)

	large := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	bin := []byte{0, 1, 2, 0xfe, 0xff}
	mapBody := map[string]any{
		"bool": true, "byte": int8(-8), "short": int16(-1600), "int": int32(math.MinInt32),
		"long": int64(math.MaxInt64), "float": float32(1.5), "double": math.Pi,
		"string": "plain", "empty": "", "bytes": bin, "char": uint16('Z'),
	}
	stream := []any{true, int8(1), int16(2), int32(3), int64(4), float32(5.5), 6.25, "seven", bin, uint16('x')}
	cases := []struct {
		name string
		msg  *client.Message
		kind client.BodyKind
		body func(m *client.Message) any
		want any
	}{
		{"none", client.NewMessage(), client.NoBody, func(m *client.Message) any { return nil }, nil},
		{"text", client.NewTextMessage("hello"), client.TextBody, text, "hello"},
		{"text-empty", client.NewTextMessage(""), client.TextBody, text, ""},
		{"text-tricky", client.NewTextMessage(tricky), client.TextBody, text, tricky},
		{"text-1MiB", client.NewTextMessage(large), client.TextBody, text, large},
		{"bytes", client.NewBytesMessage(bin), client.BytesBody, func(m *client.Message) any { return m.Bytes() }, bin},
		{"bytes-empty", client.NewBytesMessage(nil), client.BytesBody, func(m *client.Message) any { return len(m.Bytes()) }, 0},
		{"map", client.NewMapMessage(mapBody), client.MapBody, func(m *client.Message) any { return m.Map() }, mapBody},
		{"stream", client.NewStreamMessage(stream), client.StreamBody, func(m *client.Message) any { return m.Stream() }, stream},
		{"object", client.NewObjectMessage(javaString("serialized")), client.ObjectBody, func(m *client.Message) any { return m.Object() }, javaString("serialized")},
	}
	for _, tc := range cases {
		send(t, p, tc.msg)
	}
	for _, tc := range cases {
		m := receive(t, k)
		if m.Kind() != tc.kind {
			t.Errorf("%s: kind %v, want %v", tc.name, m.Kind(), tc.kind)
			continue
		}
		if got := tc.body(m); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: body %s, want %s", tc.name, abbrev(got), abbrev(tc.want))
		}
	}
	// A map string with emoji/NUL: intact (Pier, and ActiveMQ, which keeps
	// the bytes a Go client wrote), never otherwise garbled.
	send(t, p, client.NewMapMessage(map[string]any{"s": tricky}))
	if got := receive(t, k).Map()["s"]; got != tricky {
		t.Errorf("map string: got %q, want %q", got, tricky)
	}
}

func text(m *client.Message) any { s, _ := m.Text(); return s }

// javaString is a Java-serialized java.lang.String (what an ObjectMessage
// from a Java client would carry); brokers keep it opaque.
func javaString(s string) []byte {
	return append([]byte{0xac, 0xed, 0x00, 0x05, 0x74, 0x00, byte(len(s))}, s...)
}

func abbrev(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// testProperties: every property type keeps its value and Go type; the
// typed getters convert as JMS does.
func testProperties(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("props"))
	p := producer(t, s, q)
	k := consumer(t, s, q)

	props := map[string]any{
		"bool": true, "byte": int8(-128), "short": int16(math.MaxInt16), "int": int32(-7),
		"long": int64(math.MinInt64), "float": float32(-0.25), "double": 1e300,
		"string": "text", "empty": "", "tricky": tricky, "big": strings.Repeat("é", 40000),
	}
	m := client.NewTextMessage("props")
	for name, v := range props {
		if err := m.SetProperty(name, v); err != nil {
			t.Fatalf("SetProperty(%s, %T): %v", name, v, err)
		}
	}
	if err := m.SetProperty("bad", struct{}{}); !errors.Is(err, client.ErrPropertyType) {
		t.Errorf("SetProperty(struct{}): got %v, want ErrPropertyType", err)
	}
	send(t, p, m)
	got := receive(t, k)
	for name, want := range props {
		if v := got.Property(name); !reflect.DeepEqual(v, want) {
			t.Errorf("property %s: got %s, want %s", name, abbrev(v), abbrev(want))
		}
	}
	if l, err := got.LongProperty("int"); err != nil || l != -7 {
		t.Errorf("LongProperty(int) = %d, %v; want -7", l, err)
	}
	if d, err := got.DoubleProperty("float"); err != nil || d != -0.25 {
		t.Errorf("DoubleProperty(float) = %v, %v; want -0.25", d, err)
	}
	if s, err := got.StringProperty("bool"); err != nil || s != "true" {
		t.Errorf("StringProperty(bool) = %q, %v; want true", s, err)
	}
	if _, err := got.IntProperty("long"); !errors.Is(err, client.ErrPropertyType) {
		t.Errorf("IntProperty(long): got %v, want ErrPropertyType", err)
	}
	if _, err := got.BoolProperty("string"); err != nil {
		t.Errorf("BoolProperty(\"text\"): %v (JMS: Boolean.valueOf, false)", err)
	}
}

// testHeaders: JMS headers the producer sets arrive as sent; those Send
// fills in are set on the sent and the received message alike.
func testHeaders(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("headers"))
	p := producer(t, s, q)
	k := consumer(t, s, q)

	m := client.NewTextMessage("h")
	m.CorrelationID = "corr-" + tricky
	m.Type = "kind"
	m.ReplyTo = client.Topic("replies")
	m.GroupID, m.GroupSeq = "g", 3
	before := time.Now().Add(-time.Second)
	send(t, p, m, client.TTL(time.Hour), client.Priority(7))
	if m.ID == "" || m.Timestamp.Before(before) || m.Expiration.IsZero() {
		t.Errorf("after Send: ID %q, Timestamp %v, Expiration %v; want all set", m.ID, m.Timestamp, m.Expiration)
	}
	got := receive(t, k)
	checks := []struct {
		what      string
		got, want any
	}{
		{"ID", got.ID, m.ID},
		{"Destination", got.Destination.String(), q.String()},
		{"ReplyTo", got.ReplyTo.String(), m.ReplyTo.String()},
		{"CorrelationID", got.CorrelationID, m.CorrelationID},
		{"Type", got.Type, "kind"},
		{"Priority", got.Priority, 7},
		{"Persistent", got.Persistent, true},
		{"Timestamp", got.Timestamp.UnixMilli(), m.Timestamp.UnixMilli()},
		{"Expiration", got.Expiration.UnixMilli(), m.Expiration.UnixMilli()},
		{"Redelivered", got.Redelivered, false},
		{"DeliveryCount", got.DeliveryCount, 1},
		{"GroupID", got.GroupID, "g"},
		{"GroupSeq", got.GroupSeq, 3},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %v, want %v", ck.what, ck.got, ck.want)
		}
	}
	send(t, p, client.NewTextMessage("np"), client.NonPersistent())
	if got := receiveText(t, k, "np"); got.Persistent {
		t.Errorf("NonPersistent message arrived persistent")
	}
	// An expired message is never delivered.
	send(t, p, client.NewTextMessage("expired"), client.TTL(time.Millisecond))
	time.Sleep(50 * time.Millisecond)
	send(t, p, client.NewTextMessage("after"))
	receiveText(t, k, "after")
}

// testPriority: messages sent with priority 1, then 9, before a consumer
// exists. JMS allows either order: Pier delivers by priority, ActiveMQ is
// FIFO by default (prioritizedMessages=false). Anything else fails.
func testPriority(t *testing.T, b *broker) {
	c := dial(t, b, client.Options{})
	s := session(t, c, client.AutoAck)
	q := client.Queue(unique("prio"))
	p := producer(t, s, q)
	var fifo, byPrio []string
	for i := range 3 {
		send(t, p, client.NewTextMessage(fmt.Sprintf("low%d", i)), client.Priority(1))
		fifo = append(fifo, fmt.Sprintf("low%d", i))
	}
	for i := range 3 {
		send(t, p, client.NewTextMessage(fmt.Sprintf("high%d", i)), client.Priority(9))
		fifo = append(fifo, fmt.Sprintf("high%d", i))
		byPrio = append(byPrio, fmt.Sprintf("high%d", i))
	}
	byPrio = append(byPrio, fifo[:3]...)
	got := drain(t, consumer(t, s, q), time.Second)
	switch {
	case reflect.DeepEqual(got, byPrio):
		t.Logf("NOTE %s: priority order (ActiveMQ's default is FIFO)", b.name)
	case reflect.DeepEqual(got, fifo):
		t.Logf("NOTE %s: FIFO order (JMS allows it; Pier honours priority)", b.name)
	default:
		t.Errorf("order %v: want FIFO %v or by priority %v", got, fifo, byPrio)
	}
}
