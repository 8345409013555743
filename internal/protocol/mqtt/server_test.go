package mqtt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

const (
	v3 = packet.Version311
	v5 = packet.Version5
)

// TestQoSMatrix: every publish QoS to every subscription QoS is delivered
// at the lower of the two, for both versions, in order.
func TestQoSMatrix(t *testing.T) {
	for _, v := range []byte{v3, v5} {
		r := newRig(t, Config{})
		sub, _ := r.connect(v, packet.Connect{ClientID: "sub", CleanStart: true})
		for sq := byte(0); sq <= 2; sq++ {
			sub.subscribe(uint16(sq+1), packet.Subscription{Filter: fmt.Sprintf("m/%d", sq), QoS: sq})
		}
		p, _ := r.connect(v, packet.Connect{ClientID: "pub", CleanStart: true})
		for sq := byte(0); sq <= 2; sq++ {
			for pq := byte(0); pq <= 2; pq++ {
				topic := fmt.Sprintf("m/%d", sq)
				if rc := p.publish(pub(topic, pq, uint16(10+pq), fmt.Sprintf("%d-%d", pq, sq))); rc != packet.Success {
					t.Fatalf("v%d publish: %v", v, rc)
				}
				got := sub.receive()
				want := min(pq, sq)
				if got.Topic != topic || got.QoS != want || string(got.Payload) != fmt.Sprintf("%d-%d", pq, sq) || got.Dup || got.Retain {
					t.Fatalf("v%d: got %s, want QoS %d on %s", v, describe(got), want, topic)
				}
			}
		}
		sub.quiet()
	}
}

// TestTopicsMapToActiveMQNames: MQTT's a/b is the broker's topic a.b, seen
// by a non-MQTT connection both ways, with user properties, response topic
// and correlation data as message properties, reply-to and correlation id.
func TestTopicsMapToActiveMQNames(t *testing.T) {
	r := newRig(t, Config{})
	ctx := context.Background()
	k := &chanSink{ch: make(chan *broker.Delivery, 10)}
	jc, err := r.b.Connect(ctx, broker.ConnOptions{Sink: k})
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	if _, err := jc.Subscribe(ctx, broker.SubOptions{ID: "j", Dest: message.Destination{Kind: message.Topic, Name: "home.*.temp"}}); err != nil {
		t.Fatal(err)
	}
	c, _ := r.connect(v5, packet.Connect{ClientID: "m", CleanStart: true})
	c.subscribe(1, packet.Subscription{Filter: "/dev/#", QoS: 1})
	p := pub("home/kitchen.1/temp", 1, 1, "21.5")
	p.Properties.User = []packet.UserProperty{{Key: "unit", Value: "C"}}
	p.Properties.ResponseTopic = "replies/x"
	p.Properties.CorrelationData = []byte("c-7")
	c.publish(p)
	d := <-k.ch
	m := d.Msg
	if m.Dest.Name != "home.kitchen/1.temp" || string(m.Body) != "21.5" || m.Properties["unit"] != "C" ||
		m.ReplyTo != (message.Destination{Kind: message.Topic, Name: "replies.x"}) || m.CorrelationID != "c-7" || !m.Persistent {
		t.Fatalf("broker message %+v", m)
	}
	out := &message.Message{Dest: message.Destination{Kind: message.Topic, Name: ".dev.a/b"}, Body: []byte("x"), BodyKind: message.Text,
		Properties: map[string]any{"n": int32(5)}, CorrelationID: "q", ReplyTo: message.Destination{Kind: message.Topic, Name: "r.s"}}
	if err := jc.Send(ctx, out, ""); err != nil {
		t.Fatal(err)
	}
	got := c.receive()
	if got.Topic != "/dev/a.b" || got.QoS != 0 || got.Properties.PayloadFormat != 1 || string(got.Properties.CorrelationData) != "q" ||
		got.Properties.ResponseTopic != "r/s" || len(got.Properties.User) != 1 || got.Properties.User[0] != (packet.UserProperty{Key: "n", Value: "5"}) {
		t.Fatalf("MQTT got %s %+v", describe(got), got.Properties)
	}
}

type chanSink struct{ ch chan *broker.Delivery }

func (k *chanSink) Deliver(d *broker.Delivery) { k.ch <- d }

// TestPersistentSessionResumes: a 3.1.1 clean-session-false subscriber gets
// what was published while it was away, across a broker restart, with
// session present; a clean session then discards it all.
func TestPersistentSessionResumes(t *testing.T) {
	for _, v := range []byte{v3, v5} {
		r := newRig(t, Config{})
		conn := packet.Connect{ClientID: "dev", CleanStart: v == v5}
		if v == v5 {
			conn.Properties.SessionExpiry = u32(3600)
		}
		c, ack := r.connect(v, conn)
		if ack.SessionPresent {
			t.Fatalf("v%d: a new session is present", v)
		}
		c.subscribe(1, packet.Subscription{Filter: "s/1", QoS: 1}, packet.Subscription{Filter: "s/2", QoS: 2})
		c.send(&packet.Disconnect{})
		c.closed()
		p, _ := r.connect(v, packet.Connect{ClientID: "pub", CleanStart: true})
		p.publish(pub("s/1", 1, 1, "one"))
		p.publish(pub("s/2", 2, 2, "two"))
		r.restart()
		conn.CleanStart = false
		c, ack = r.connect(v, conn)
		if !ack.SessionPresent {
			t.Fatalf("v%d: session not present after restart", v)
		}
		got := map[string]string{}
		for range 2 {
			m := c.receive()
			got[m.Topic] = fmt.Sprintf("%s/%d", m.Payload, m.QoS)
		}
		if got["s/1"] != "one/1" || got["s/2"] != "two/2" {
			t.Fatalf("v%d: resumed session got %v", v, got)
		}
		c.send(&packet.Disconnect{})
		c.closed()
		conn.CleanStart = true
		c, ack = r.connect(v, conn)
		if ack.SessionPresent {
			t.Fatalf("v%d: clean start found a session", v)
		}
		p, _ = r.connect(v, packet.Connect{ClientID: "pub2", CleanStart: true})
		p.publish(pub("s/1", 1, 1, "after clean"))
		c.quiet()
		if n := len(r.b.Durables("dev")); n != 0 {
			t.Fatalf("v%d: %d durable subscriptions left after a clean start", v, n)
		}
	}
}

// TestQoS2InboundSurvivesFailover: a QoS 2 PUBLISH whose PUBREC was lost is
// sent again with DUP to the next master, which recognises it: stored once.
func TestQoS2InboundSurvivesFailover(t *testing.T) {
	r := newRig(t, Config{})
	watch := packet.Connect{ClientID: "watch", CleanStart: false}
	w, _ := r.connect(v3, watch)
	w.subscribe(1, packet.Subscription{Filter: "x/y", QoS: 2})
	conn := packet.Connect{ClientID: "p2", CleanStart: false}
	c, _ := r.connect(v3, conn)
	c.send(pub("x/y", 2, 42, "once"))
	expect[*packet.Pubrec](c)
	r.restart()
	c, ack := r.connect(v3, conn)
	if !ack.SessionPresent {
		t.Fatal("session not present: the pending PUBREL is its state")
	}
	dup := pub("x/y", 2, 42, "once")
	dup.Dup = true
	c.send(dup)
	if rec := expect[*packet.Pubrec](c); rec.PacketID != 42 {
		t.Fatalf("PUBREC %d", rec.PacketID)
	}
	c.send(&packet.Pubrel{Ack: packet.Ack{PacketID: 42}})
	expect[*packet.Pubcomp](c)
	// The id is free again: a new message with it is a new message.
	c.publish(pub("x/y", 2, 42, "second"))
	w, _ = r.connect(v3, watch)
	m1, m2 := expect[*packet.Publish](w), expect[*packet.Publish](w)
	if string(m1.Payload) != "once" || string(m2.Payload) != "second" {
		t.Fatalf("got %s, %s", describe(m1), describe(m2))
	}
	w.ackPublish(m1)
	w.ackPublish(m2)
	w.quiet()
	if m := r.b.Marks("mqtt:in:"); len(m) != 0 {
		t.Fatalf("marks left: %v", m)
	}
}

// TestQoS2OutboundPubrelSurvivesFailover: a subscriber that sent PUBREC
// gets the PUBREL from the next master, not the message again.
func TestQoS2OutboundPubrelSurvivesFailover(t *testing.T) {
	r := newRig(t, Config{})
	conn := packet.Connect{ClientID: "s2", CleanStart: false}
	c, _ := r.connect(v3, conn)
	c.subscribe(1, packet.Subscription{Filter: "q2", QoS: 2})
	p, _ := r.connect(v3, packet.Connect{ClientID: "pub", CleanStart: true})
	p.publish(pub("q2", 2, 1, "exactly"))
	m := expect[*packet.Publish](c)
	c.send(&packet.Pubrec{Ack: packet.Ack{PacketID: m.PacketID}})
	expect[*packet.Pubrel](c)
	r.restart()
	c, _ = r.connect(v3, conn)
	rel := expect[*packet.Pubrel](c)
	if rel.PacketID != m.PacketID {
		t.Fatalf("PUBREL %d, want %d", rel.PacketID, m.PacketID)
	}
	c.send(&packet.Pubcomp{Ack: packet.Ack{PacketID: rel.PacketID}})
	c.quiet() // not the message again
	p, _ = r.connect(v3, packet.Connect{ClientID: "pub", CleanStart: true})
	p.publish(pub("q2", 2, 1, "next"))
	if got := c.receive(); string(got.Payload) != "next" {
		t.Fatalf("got %s", describe(got))
	}
}

// TestRetained: set, replaced, cleared; given on SUBSCRIBE with RETAIN set,
// not to live subscribers; Retain Handling 2 sends none; kept by restart.
func TestRetained(t *testing.T) {
	r := newRig(t, Config{})
	p, _ := r.connect(v5, packet.Connect{ClientID: "pub", CleanStart: true})
	live, _ := r.connect(v5, packet.Connect{ClientID: "live", CleanStart: true})
	live.subscribe(1, packet.Subscription{Filter: "r/#", QoS: 1})
	for _, s := range []struct {
		topic, body string
	}{{"r/a", "1"}, {"r/a", "2"}, {"r/b", "x"}, {"r/b", ""}, {"r/c", "c"}} {
		m := pub(s.topic, 1, 1, s.body)
		m.Retain = true
		p.publish(m)
		if got := live.receive(); got.Retain {
			t.Fatalf("live subscriber got RETAIN: %s", describe(got))
		}
	}
	r.restart()
	c, _ := r.connect(v5, packet.Connect{ClientID: "new", CleanStart: true})
	c.subscribe(1, packet.Subscription{Filter: "r/+", QoS: 1})
	got := map[string]string{}
	for range 2 {
		m := c.receive()
		if !m.Retain || m.QoS != 1 {
			t.Fatalf("retained message %s", describe(m))
		}
		got[m.Topic] = string(m.Payload)
	}
	if len(got) != 2 || got["r/a"] != "2" || got["r/c"] != "c" {
		t.Fatalf("retained %v", got)
	}
	c.quiet()
	c.subscribe(2, packet.Subscription{Filter: "r/a", QoS: 0, RetainHandling: 2})
	c.quiet()
}

// TestTakeOver: a second connection with the client id takes the session;
// the first is told (MQTT 5) and closed, its will published.
func TestTakeOver(t *testing.T) {
	r := newRig(t, Config{})
	w, _ := r.connect(v5, packet.Connect{ClientID: "watch", CleanStart: true})
	w.subscribe(1, packet.Subscription{Filter: "wills/#"})
	conn := packet.Connect{ClientID: "dev", Will: &packet.Will{Topic: "wills/dev", Payload: []byte("gone")}}
	conn.Properties.SessionExpiry = u32(60)
	old, _ := r.connect(v5, conn)
	old.subscribe(1, packet.Subscription{Filter: "t", QoS: 1})
	conn.Will = nil
	nw, ack := r.connect(v5, conn)
	if !ack.SessionPresent {
		t.Fatal("the new connection did not get the session")
	}
	d := expect[*packet.Disconnect](old)
	if d.Reason != packet.SessionTakenOver {
		t.Fatalf("old connection told %v", d.Reason)
	}
	old.closed()
	if m := w.receive(); m.Topic != "wills/dev" || string(m.Payload) != "gone" {
		t.Fatalf("will %s", describe(m))
	}
	p, _ := r.connect(v5, packet.Connect{ClientID: "pub", CleanStart: true})
	p.publish(pub("t", 1, 1, "to the new one"))
	if m := nw.receive(); string(m.Payload) != "to the new one" {
		t.Fatalf("got %s", describe(m))
	}
}

// TestWill: published when the connection drops, not after DISCONNECT; a
// will delay lets a client that comes back in time cancel it.
func TestWill(t *testing.T) {
	r := newRig(t, Config{})
	w, _ := r.connect(v5, packet.Connect{ClientID: "watch", CleanStart: true})
	w.subscribe(1, packet.Subscription{Filter: "wills/#", QoS: 1})
	will := &packet.Will{Topic: "wills/a", Payload: []byte("a died"), QoS: 1}
	a, _ := r.connect(v3, packet.Connect{ClientID: "a", CleanStart: true, Will: will})
	a.nc.Close()
	if m := w.receive(); m.Topic != "wills/a" || string(m.Payload) != "a died" || m.QoS != 1 {
		t.Fatalf("will %s", describe(m))
	}
	b, _ := r.connect(v3, packet.Connect{ClientID: "b", CleanStart: true, Will: &packet.Will{Topic: "wills/b", Payload: []byte("no")}})
	b.send(&packet.Disconnect{})
	b.closed()
	w.quiet()
	delayed := &packet.Will{Topic: "wills/c", Payload: []byte("c died")}
	delayed.Properties.WillDelay = 1
	conn := packet.Connect{ClientID: "c", Will: delayed}
	conn.Properties.SessionExpiry = u32(60)
	c, _ := r.connect(v5, conn)
	c.nc.Close()
	time.Sleep(100 * time.Millisecond)
	conn.Will = nil
	r.connect(v5, conn) // back within the delay
	w.nc.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	if p, err := w.r.ReadPacket(); err == nil {
		t.Fatalf("delayed will published although the client came back: %+v", p)
	}
}

// TestTopicAliases: an alias set with a topic stands for it after.
func TestTopicAliases(t *testing.T) {
	r := newRig(t, Config{TopicAliasMaximum: 5})
	c, ack := r.connect(v5, packet.Connect{ClientID: "al", CleanStart: true})
	if ack.Properties.TopicAliasMaximum != 5 {
		t.Fatalf("CONNACK topic alias maximum %d", ack.Properties.TopicAliasMaximum)
	}
	c.subscribe(1, packet.Subscription{Filter: "al/#"})
	p := pub("al/long/topic", 0, 0, "1")
	p.Properties.TopicAlias = 3
	c.send(p)
	p = pub("", 0, 0, "2")
	p.Properties.TopicAlias = 3
	c.send(p)
	for _, want := range []string{"1", "2"} {
		if m := c.receive(); m.Topic != "al/long/topic" || string(m.Payload) != want {
			t.Fatalf("got %s", describe(m))
		}
	}
	p = pub("x", 0, 0, "3")
	p.Properties.TopicAlias = 6
	c.send(p)
	if d := expect[*packet.Disconnect](c); d.Reason != packet.TopicAliasInvalid {
		t.Fatalf("DISCONNECT %v", d.Reason)
	}
	c.closed()
}

// TestReceiveMaximum: no more QoS 1 messages in flight than the client's
// Receive Maximum; the rest follow as it acknowledges.
func TestReceiveMaximum(t *testing.T) {
	r := newRig(t, Config{})
	conn := packet.Connect{ClientID: "slow", CleanStart: true}
	conn.Properties.ReceiveMaximum = 2
	c, _ := r.connect(v5, conn)
	c.subscribe(1, packet.Subscription{Filter: "rm", QoS: 1})
	p, _ := r.connect(v5, packet.Connect{ClientID: "pub", CleanStart: true})
	for i := range 5 {
		p.publish(pub("rm", 1, uint16(i+1), fmt.Sprint(i)))
	}
	a, b := expect[*packet.Publish](c), expect[*packet.Publish](c)
	c.quiet()
	c.ackPublish(a)
	next := expect[*packet.Publish](c)
	c.quiet()
	for _, m := range []*packet.Publish{b, next} {
		c.ackPublish(m)
	}
	got := []string{string(a.Payload), string(b.Payload), string(next.Payload), string(c.receive().Payload), string(c.receive().Payload)}
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("order %v", got)
	}
}

// TestBadInput: a packet over the size limit, a first packet that is not
// CONNECT, an unsupported protocol level.
func TestBadInput(t *testing.T) {
	r := newRig(t, Config{MaxPacketSize: 1024})
	c, ack := r.connect(v5, packet.Connect{ClientID: "big", CleanStart: true})
	if ack.Properties.MaximumPacketSize != 1024 {
		t.Fatalf("CONNACK maximum packet size %d", ack.Properties.MaximumPacketSize)
	}
	c.send(pub("big", 0, 0, string(make([]byte, 2000))))
	if d := expect[*packet.Disconnect](c); d.Reason != packet.PacketTooLarge {
		t.Fatalf("DISCONNECT %v", d.Reason)
	}
	c.closed()

	c = r.dial(v3)
	c.nc.Write([]byte{0xC0, 0x00}) // PINGREQ first
	c.closed()

	c = r.dial(v3)
	c.nc.Write([]byte{0x10, 0x0d, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01, 'x'})
	a := expect[*packet.Connack](c)
	if a.Reason != packet.UnsupportedProtocolVersion {
		t.Fatalf("CONNACK %v", a.Reason)
	}
	c.closed()
}

// TestClientIDAssigned: an MQTT 5 client without a client id gets one; a
// 3.1.1 persistent session without one is refused.
func TestClientIDAssigned(t *testing.T) {
	r := newRig(t, Config{})
	_, ack := r.connect(v5, packet.Connect{CleanStart: true})
	if ack.Properties.AssignedClientID == "" {
		t.Fatal("no assigned client id")
	}
	c := r.dial(v3)
	c.send(&packet.Connect{Version: v3})
	if a := expect[*packet.Connack](c); a.Reason != packet.ClientIDNotValid {
		t.Fatalf("CONNACK %v", a.Reason)
	}
}

// TestSharedSubscriptions: members of $share/g/... take messages in turn;
// another share and a plain subscriber get every one; no retained messages.
func TestSharedSubscriptions(t *testing.T) {
	r := newRig(t, Config{})
	p, _ := r.connect(v5, packet.Connect{ClientID: "pub", CleanStart: true})
	keep := pub("sh/t", 1, 9, "retained")
	keep.Retain = true
	p.publish(keep)
	var members []*client
	for _, id := range []string{"m1", "m2"} {
		c, _ := r.connect(v5, packet.Connect{ClientID: id, CleanStart: true})
		if ack := c.subscribe(1, packet.Subscription{Filter: "$share/g/sh/#", QoS: 1}); ack.Reasons[0] != packet.GrantedQoS1 {
			t.Fatalf("SUBACK %v", ack.Reasons)
		}
		members = append(members, c)
	}
	all, _ := r.connect(v5, packet.Connect{ClientID: "all", CleanStart: true})
	all.subscribe(1, packet.Subscription{Filter: "sh/#", QoS: 1})
	if m := all.receive(); !m.Retain {
		t.Fatalf("plain subscriber: %s", describe(m))
	}
	for i := range 6 {
		p.publish(pub("sh/t", 1, uint16(i+1), fmt.Sprint(i)))
	}
	seen := map[string]bool{}
	for _, c := range members {
		for range 3 {
			m := c.receive()
			if m.Retain || seen[string(m.Payload)] {
				t.Fatalf("member got %s (seen %v)", describe(m), seen)
			}
			seen[string(m.Payload)] = true
		}
		c.quiet()
	}
	for range 6 {
		all.receive()
	}
	c, _ := r.connect(v5, packet.Connect{ClientID: "bad", CleanStart: true})
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: "$share/g/x", NoLocal: true}}})
	if d := expect[*packet.Disconnect](c); d.Reason != packet.ProtocolError { // MQTT-3.8.3-4
		t.Fatalf("no-local share: %v", d.Reason)
	}
	c.closed()
}

// TestSessionExpiry: an MQTT 5 session ends its expiry after its
// connection, also when the broker restarted meanwhile (the next master
// times it from the store); a client back in time keeps it.
func TestSessionExpiry(t *testing.T) {
	r := newRig(t, Config{})
	conn := packet.Connect{ClientID: "exp"}
	conn.Properties.SessionExpiry = u32(1)
	c, _ := r.connect(v5, conn)
	c.subscribe(1, packet.Subscription{Filter: "e", QoS: 1})
	c.send(&packet.Disconnect{})
	c.closed()
	c, ack := r.connect(v5, conn) // back within the second
	if !ack.SessionPresent {
		t.Fatal("session gone before its expiry")
	}
	c.send(&packet.Disconnect{})
	c.closed()
	r.restart()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.b.Durables("exp")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session did not expire after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ack := r.connect(v5, conn); ack.SessionPresent {
		t.Fatal("an expired session is present")
	}
	if m := r.b.Marks("mqtt:exp:"); len(m) != 0 {
		t.Fatalf("expiry marks left: %v", m)
	}
}

// TestDelayedWillSurvivesFailover: a delayed will is the scheduler's job,
// in the store: the next master publishes it after the delay, and cancels
// it when the client comes back first.
func TestDelayedWillSurvivesFailover(t *testing.T) {
	r := newRig(t, Config{})
	connWith := func(id string, delay uint32) packet.Connect {
		w := &packet.Will{Topic: "wills/" + id, Payload: []byte(id + " died"), QoS: 1}
		w.Properties.WillDelay = delay
		c := packet.Connect{ClientID: id, Will: w}
		c.Properties.SessionExpiry = u32(60)
		return c
	}
	for _, id := range []string{"late", "back"} {
		c, _ := r.connect(v5, connWith(id, 1))
		c.nc.Close() // no DISCONNECT: the will is due after a second
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.b.Marks("mqtt:will:")) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("wills not scheduled: %v", r.b.Marks(""))
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.restart() // a failover: the old process's timers are gone
	w, _ := r.connect(v5, packet.Connect{ClientID: "watch", CleanStart: true})
	w.subscribe(1, packet.Subscription{Filter: "wills/#", QoS: 1})
	back := connWith("back", 1)
	back.Will = nil
	r.connect(v5, back) // back in time on the new master
	m := w.receive()
	if m.Topic != "wills/late" || string(m.Payload) != "late died" {
		t.Fatalf("will %s", describe(m))
	}
	for _, u := range m.Properties.User {
		t.Errorf("the scheduler's property %q=%q reached the subscriber", u.Key, u.Value)
	}
	w.nc.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	if p, err := w.r.ReadPacket(); err == nil {
		t.Fatalf("a cancelled will was published: %+v", p)
	}
}

// TestSharedSubscriptionKeepsMessages: a shared subscription keeps what is
// published while its members are away, across a restart, for members of
// persistent sessions; it goes once its last member leaves.
func TestSharedSubscriptionKeepsMessages(t *testing.T) {
	r := newRig(t, Config{})
	member := func(id string) packet.Connect {
		c := packet.Connect{ClientID: id}
		c.Properties.SessionExpiry = u32(600)
		return c
	}
	for _, id := range []string{"w1", "w2"} {
		c, _ := r.connect(v5, member(id))
		c.subscribe(1, packet.Subscription{Filter: "$share/workers/jobs/+", QoS: 1})
		c.send(&packet.Disconnect{})
		c.closed()
	}
	p, _ := r.connect(v5, packet.Connect{ClientID: "pub", CleanStart: true})
	for i := range 4 {
		p.publish(pub("jobs/a", 1, uint16(i+1), fmt.Sprint(i)))
	}
	r.restart()
	w1, ack := r.connect(v5, member("w1"))
	if !ack.SessionPresent {
		t.Fatal("a member's session is not present")
	}
	var got []string
	for range 4 {
		got = append(got, string(w1.receive().Payload))
	}
	if fmt.Sprint(got) != "[0 1 2 3]" {
		t.Fatalf("the returning member got %v", got)
	}
	// Both leave for good: the shared subscription goes with the last.
	w1.send(&packet.Unsubscribe{PacketID: 2, Filters: []string{"$share/workers/jobs/+"}})
	expect[*packet.Unsuback](w1)
	if n := len(r.b.Durables("$share/workers")); n != 1 {
		t.Fatalf("%d shared durables while w2 is a member", n)
	}
	w2, _ := r.connect(v5, packet.Connect{ClientID: "w2", CleanStart: true}) // ends w2's session
	w2.quiet()
	if n := len(r.b.Durables("$share/workers")); n != 0 {
		t.Fatalf("%d shared durables after the last member left", n)
	}
}
