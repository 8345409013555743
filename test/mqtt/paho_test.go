//go:build crossprocess

package mqtt

import (
	"fmt"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// pahoOptions are the Go paho client's options for addr: MQTT 3.1.1, no
// automatic reconnect (a test reconnects when it means to), ordered
// delivery to the handlers.
func pahoOptions(addr, clientID string, clean bool) *paho.ClientOptions {
	return paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(clientID).
		SetCleanSession(clean).SetProtocolVersion(4).SetAutoReconnect(false).
		SetConnectRetry(false).SetOrderMatters(true).SetConnectTimeout(wait).SetWriteTimeout(wait)
}

// pahoConnect connects a Go paho client; it is disconnected when the test
// ends.
func pahoConnect(t *testing.T, addr, clientID string, clean bool) paho.Client {
	t.Helper()
	c := paho.NewClient(pahoOptions(addr, clientID, clean))
	if err := pahoWait(c.Connect()); err != nil {
		t.Fatalf("paho connect %s: %v", clientID, err)
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// pahoWait waits at most wait for a token.
func pahoWait(tok paho.Token) error {
	if !tok.WaitTimeout(wait) {
		return fmt.Errorf("no answer within %s", wait)
	}
	return tok.Error()
}

// eventually waits at most wait until cond holds.
func eventually(cond func() bool) error { return eventuallyWithin(wait, cond) }
