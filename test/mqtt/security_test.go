//go:build crossprocess

package mqtt

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

// securityYAML gives a broker two users (bcrypt hashes made per run):
// writer may publish to sec.> (MQTT sec/#) and reader may subscribe
// there; both may create destinations there.
func securityYAML(t *testing.T) string {
	t.Helper()
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	return fmt.Sprintf(`security:
  users:
    - name: writer
      password_hash: %q
      groups: [writers]
    - name: reader
      password_hash: %q
      groups: [readers]
  authorization:
    - topic: "sec.>"
      read: [readers]
      write: [writers]
      admin: [readers, writers]
`, hash("writer-pw"), hash("reader-pw"))
}

// TestSecurity goes through the front door (docs/security.md) with MQTT:
// a wrong password or unknown user is refused (CONNACK 0x86 in MQTT 5,
// return code 4 in 3.1.1), as is a client without credentials; a user
// without write permission on a topic cannot publish to it (MQTT 5 PUBACK
// 0x87; 3.1.1 has no refusal: the message is acknowledged and dropped)
// and one without read permission cannot subscribe (SUBACK 0x87, 3.1.1
// 0x80); what is granted works.
func TestSecurity(t *testing.T) {
	needTools(t)
	security := securityYAML(t)
	for _, v := range versions {
		// A broker each: refused logins slow down the next from the same
		// host (docs/security.md), for a minute.
		t.Run(v.name, func(t *testing.T) {
			b := startBroker(t, brokerOptions{Extra: security})
			frontDoor(t, b, mosquitto{addr: b.MQTT, version: v.name}, v.level)
		})
	}
}

func frontDoor(t *testing.T, b *broker, m mosquitto, version byte) {
	login := func(version byte, user, password string, box *inbox) (*conn, *packet.Connack) {
		t.Helper()
		c := &packet.Connect{Version: version, ClientID: fmt.Sprintf("%s-%d", user, version), CleanStart: true,
			HasUsername: user != "", Username: user, HasPassword: password != "", Password: []byte(password)}
		cn, ack, err := dial(b.MQTT, nil, c, box)
		if err != nil {
			t.Fatal(err)
		}
		return cn, ack
	}
	for _, bad := range []struct{ user, password string }{{"writer", "wrong"}, {"nobody", "writer-pw"}} {
		c, ack := login(version, bad.user, bad.password, nil)
		if ack.Reason != packet.BadUsernameOrPassword {
			t.Errorf("user %q password %q: CONNACK %s, want %s", bad.user, bad.password, ack.Reason, packet.BadUsernameOrPassword)
		}
		if _, err := c.ended(); err != nil {
			t.Errorf("after the refusal: %v", err)
		}
	}
	if c, ack := login(version, "", "", nil); !ack.Reason.Failed() {
		t.Errorf("no credentials: CONNACK %s, want a refusal", ack.Reason)
		c.disconnect()
	}
	out, err := runProgram(t, "mosquitto_pub", m.args("-u", "writer", "-P", "wrong", "-t", "sec/x", "-m", "x")...)
	if err == nil || !strings.Contains(strings.ToLower(out), "bad user name or password") {
		t.Errorf("mosquitto_pub with a wrong password: %v, %q; want it refused for a bad user name or password", err, out)
	}

	topic := "sec/data/" + m.version
	box := newInbox()
	reader, ack := login(version, "reader", "reader-pw", box)
	if ack.Reason != packet.Success {
		t.Fatalf("reader: CONNACK %s", ack.Reason)
	}
	defer reader.disconnect()
	if sa, err := reader.subscribe(1, packet.Properties{}, packet.Subscription{Filter: topic, QoS: 1}); err != nil || sa.Reasons[0] != 1 {
		t.Fatalf("reader subscribes %s: %v %v", topic, sa, err)
	}
	pa, err := reader.publish1(&packet.Publish{Topic: topic, PacketID: 2, Payload: []byte("from the reader")})
	switch {
	case err != nil:
		t.Errorf("a publish without write permission: %v (the connection should stay)", err)
	case version == packet.Version5 && pa.Reason != packet.NotAuthorized:
		t.Errorf("a publish without write permission: PUBACK %s, want %s", pa.Reason, packet.NotAuthorized)
	}

	writer, ack := login(version, "writer", "writer-pw", nil)
	if ack.Reason != packet.Success {
		t.Fatalf("writer: CONNACK %s", ack.Reason)
	}
	defer writer.disconnect()
	sa, err := writer.subscribe(1, packet.Properties{}, packet.Subscription{Filter: topic, QoS: 1})
	want := packet.NotAuthorized
	if version == packet.Version311 {
		want = packet.UnspecifiedError // SUBACK 0x80 Failure
	}
	if err != nil || len(sa.Reasons) != 1 || sa.Reasons[0] != want {
		t.Errorf("a subscription without read permission: %v %v, want SUBACK %s", sa, err, want)
	}
	if pa, err := writer.publish1(&packet.Publish{Topic: topic, PacketID: 3, Payload: []byte("from the writer")}); err != nil || pa.Reason.Failed() {
		t.Errorf("the writer's publish: %v %v", pa, err)
	}
	// The reader gets the writer's message and never its own.
	if err := box.awaitCount(1); err != nil {
		t.Fatal(err)
	}
	if got := box.all(); len(got) != 1 || got[0].Payload != "from the writer" {
		t.Errorf("the reader got %+v, want only the writer's message", got)
	}
}
