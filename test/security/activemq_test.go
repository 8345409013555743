//go:build crossprocess

package security

import (
	"fmt"
	"testing"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/test/internal/activemq"
	"github.com/piermq/pier/test/internal/piertest"
)

// TestActiveMQBridgeIntoSecuredPier: the real ActiveMQ 5.17 broker's
// network connector logs in to a secured Pier with its userName and
// password (ActiveMQ's bridge waits for Pier's BrokerInfo before it logs
// in) and forwards to Pier's consumer; with a wrong password nothing
// crosses and Pier logs the refused login.
func TestActiveMQBridgeIntoSecuredPier(t *testing.T) {
	f := setup(t)
	pierAddr := piertest.FreeAddr(t)
	pier := startPier(t, brokerSpec{Name: "pier-secured", OpenWire: "tcp://" + pierAddr, Extra: fmt.Sprintf(`security:
  users:
    - {name: app, password_hash: %q, groups: [apps]}
    - {name: bridge, password_hash: %q, groups: [bridges]}
%s`, f.hashes["app"], f.hashes["bridge"], bridgeGrants)})

	for _, c := range []struct {
		name, password, queue string
		crosses               bool
	}{
		{"right-password", passwords["bridge"], "orders.amq.good", true},
		{"wrong-password", "not-" + passwords["bridge"], "orders.amq.bad", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			mark := pier.LogLen()
			ctx := testContext(t)
			onPier := dialGo(t, "tcp://"+pierAddr, client.Options{Username: "app", Password: passwords["app"]})
			s, err := onPier.Session(ctx, client.AutoAck)
			if err != nil {
				t.Fatal(err)
			}
			k, err := s.Consumer(ctx, client.Queue(c.queue))
			if err != nil {
				t.Fatal(err)
			}
			amq := activemq.StartWith(t, activemq.Options{Name: "amq-" + c.name, NetworkURI: "static:(tcp://" + pierAddr + ")",
				NetworkUser: "bridge", NetworkPassword: c.password})
			const n = 20
			sendN(t, "tcp://"+amq.Addr(), c.queue, n)
			if !c.crosses {
				if m, err := receiveWithin(k, 10*time.Second); err == nil {
					text, _ := m.Text()
					t.Fatalf("%q crossed with a wrong password", text)
				}
				if countLines(pier.LogSince(mark), `msg="login refused"`, "user=bridge") == 0 {
					t.Errorf("Pier did not log the refused login of ActiveMQ's bridge:\n%s", tail(pier.LogSince(mark), 4<<10))
				}
				return
			}
			seen := map[string]bool{}
			for len(seen) < n {
				m, err := receiveWithin(k, 60*time.Second)
				if err != nil {
					t.Fatalf("Pier received %d of %d messages from ActiveMQ: %v\n%s", len(seen), n, err, tail(pier.LogSince(mark), 4<<10))
				}
				text, _ := m.Text()
				if seen[text] {
					t.Fatalf("%q crossed twice", text)
				}
				seen[text] = true
			}
			if countLines(pier.LogSince(mark), `msg=login`, "user=bridge") == 0 {
				t.Errorf("Pier's log shows no login of the bridge user")
			}
		})
	}
}
