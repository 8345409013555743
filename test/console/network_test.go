//go:build crossprocess

package console

import (
	"fmt"
	"strings"
	"testing"
)

// TestConsoleNetwork: a broker with a network connector to another shows
// its bridge on the network page, connected, with the remote broker.
func TestConsoleNetwork(t *testing.T) {
	remote := startBroker(t, brokerOpts{name: "console-remote", open: true})
	local := startBroker(t, brokerOpts{name: "console-local", open: true, extra: fmt.Sprintf(`network_connectors:
  - name: to-remote
    uri: static:(%s)
`, remote.openwire)})
	p := newPage(t, local.console, 1280, 900)
	p.waitText("#broker-name", local.name)
	p.open("#/network")
	p.waitText("#bridges tbody", "to-remote")
	p.waitText("#bridges tbody", "connected")
	if s := p.text("#bridges tbody tr"); !strings.Contains(s, strings.TrimPrefix(remote.openwire, "tcp://")) || !strings.Contains(s, "console-remote") {
		t.Errorf("the bridge's row is %q, want the remote's address and name", s)
	}
	keep(p, "network")
	checkClean(t, p, nil)
}
