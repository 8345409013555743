//go:build crossprocess

package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/piertest"
)

// TestBridge: network bridges into a secured broker B, whose users come
// from ActiveMQ JAAS properties files (the bridge user's password in
// plain text, app's as a bcrypt hash). Broker A1 bridges to B with the
// bridge user's password: a consumer on B receives what is sent on A1.
// Broker A2 bridges with a wrong password: nothing crosses, A2 reports
// the refusal (its log and its console's /network), B logs the refused
// login, and the messages are still on A2.
func TestBridge(t *testing.T) {
	f := setup(t)
	bAddr := piertest.FreeAddr(t)
	usersFile := filepath.Join(t.TempDir(), "users.properties")
	groupsFile := filepath.Join(t.TempDir(), "groups.properties")
	writeFile(t, usersFile, fmt.Sprintf("# ActiveMQ's format\napp=%s\nbridge=%s\n", f.hashes["app"], passwords["bridge"]))
	writeFile(t, groupsFile, "apps=app\nbridges=bridge\n")
	b := startPier(t, brokerSpec{Name: "net-b", OpenWire: "tcp://" + bAddr, Extra: fmt.Sprintf(`security:
  users_file: %s
  groups_file: %s
%s  bridges: [bridges]
`, usersFile, groupsFile, bridgeGrants)})
	if countLines(b.Log(), "plain-text") == 0 {
		t.Errorf("B did not warn about the plain-text password of its users file")
	}

	ctx := testContext(t)
	onB := dialGo(t, "tcp://"+bAddr, client.Options{Username: "app", Password: passwords["app"]})
	sb, err := onB.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	good, err := sb.Consumer(ctx, client.Queue("orders.net.good"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := sb.Consumer(ctx, client.Queue("orders.net.bad"))
	if err != nil {
		t.Fatal(err)
	}

	connector := func(password string) string {
		return fmt.Sprintf("network_connectors:\n  - name: to-b\n    uri: static:(tcp://%s)\n    username: bridge\n    password: %q\n",
			bAddr, password)
	}
	a1Addr, a2Addr := piertest.FreeAddr(t), piertest.FreeAddr(t)
	startPier(t, brokerSpec{Name: "net-a1", OpenWire: "tcp://" + a1Addr, Extra: connector(passwords["bridge"])})
	bMark := b.LogLen()
	a2 := startPier(t, brokerSpec{Name: "net-a2", OpenWire: "tcp://" + a2Addr, Extra: connector("not-" + passwords["bridge"])})

	const n = 20
	sendN(t, "tcp://"+a1Addr, "orders.net.good", n)
	sendN(t, "tcp://"+a2Addr, "orders.net.bad", n)

	t.Run("bridged", func(t *testing.T) {
		seen := map[string]bool{}
		for len(seen) < n {
			m, err := receiveWithin(good, 20*time.Second)
			if err != nil {
				t.Fatalf("B received %d of %d bridged messages: %v", len(seen), n, err)
			}
			text, _ := m.Text()
			if seen[text] {
				t.Fatalf("%q crossed twice", text)
			}
			seen[text] = true
		}
	})

	t.Run("wrong-password", func(t *testing.T) {
		// A2's bridge reports the refusal on its console...
		var last string
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(last, "password is invalid") {
			if time.Now().After(deadline) {
				t.Fatalf("A2's /network never reported the refused login; last: %s", last)
			}
			time.Sleep(50 * time.Millisecond)
			last = bridgeStatus(t, a2)
		}
		t.Logf("A2 /network: %s", last)
		// ...and B logged the refused login of the bridge user.
		if _, ok := b.waitLog(bMark, 5*time.Second, "msg=\"login refused\"", "user=bridge"); !ok {
			t.Errorf("B logged no refused login of the bridge user")
		}
		// Nothing crossed.
		if m, err := receiveWithin(bad, 2*time.Second); err == nil {
			text, _ := m.Text()
			t.Fatalf("a message crossed the bridge with the wrong password: %q", text)
		}
		// Positive control: the messages were sent, and wait on A2.
		onA2 := dialGo(t, "tcp://"+a2Addr, client.Options{})
		sa, err := onA2.Session(testContext(t), client.AutoAck)
		if err != nil {
			t.Fatal(err)
		}
		k, err := sa.Consumer(testContext(t), client.Queue("orders.net.bad"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if _, err := receiveWithin(k, 10*time.Second); err != nil {
				t.Fatalf("A2 holds %d of the %d messages sent there: %v", i, n, err)
			}
		}
	})

	// A2's own log, at the default level, says why its bridge is down:
	// the refused login, not only a lost connection.
	t.Run("a2-logs-refusal", func(t *testing.T) {
		if _, ok := a2.waitLog(0, 5*time.Second, "password is invalid"); !ok {
			t.Errorf("A2's log does not report its bridge's refused login (only %d \"connection lost\" lines); "+
				"/network says: %s\n%s", countLines(a2.Log(), "connection lost"), bridgeStatus(t, a2), tail(a2.Log(), 4<<10))
		}
	})
}

// bridgeGrants is the authorization of a broker that bridges log in to
// (under security:): group bridges may do everything, apps only on
// orders.>.
const bridgeGrants = `  authorization:
    - queue: ">"
      read: [bridges]
      write: [bridges]
      admin: [bridges]
    - topic: ">"
      read: [bridges]
      write: [bridges]
      admin: [bridges]
    - queue: "orders.>"
      read: [apps]
      write: [apps]
      admin: [apps]
`

// sendN sends n persistent text messages "m0".."m(n-1)" to queue on the
// (open) broker at url.
func sendN(t *testing.T, url, queue string, n int) {
	t.Helper()
	ctx := testContext(t)
	c := dialGo(t, url, client.Options{})
	s, err := c.Session(ctx, client.AutoAck)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Producer(ctx, client.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := p.Send(ctx, client.NewTextMessage(fmt.Sprint("m", i))); err != nil {
			t.Fatalf("send %d to %s on %s: %v", i, queue, url, err)
		}
	}
}

// receiveWithin receives one message, waiting at most d.
func receiveWithin(k *client.Consumer, d time.Duration) (*client.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := k.Receive(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("nothing within %s", d)
	}
	return m, err
}

// bridgeStatus returns the state and last error of the bridges on p's
// console's /network (p is an open broker).
func bridgeStatus(t *testing.T, p *pierProc) string {
	t.Helper()
	code, body, err := p.Get("/network", "", "")
	if err != nil || code != 200 {
		t.Fatalf("/network: %d %v %s", code, err, body)
	}
	var doc struct {
		Bridges []struct {
			Connector, State string
			LastError        string `json:"last_error"`
		} `json:"bridges"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/network: %v: %s", err, body)
	}
	var out []string
	for _, b := range doc.Bridges {
		out = append(out, fmt.Sprintf("%s %s: %s", b.Connector, b.State, b.LastError))
	}
	return strings.Join(out, "; ")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
