package stomp

import (
	"context"
	"strings"
	"testing"
	"time"

	owclient "github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/broker"
)

// TestOpenWireClientOnSTOMPPort: an OpenWire client (the Go client, which
// starts as the JMS client does) that connects to the STOMP port fails with
// a message that says where OpenWire is.
func TestOpenWireClientOnSTOMPPort(t *testing.T) {
	r := newRig(t, Config{OpenWireURL: "tcp://127.0.0.1:61616"}, broker.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := owclient.Dial(ctx, "tcp://"+r.addr, owclient.Options{})
	if err == nil {
		c.Close(ctx)
		t.Fatal("an OpenWire client connected to the STOMP port")
	}
	if !strings.Contains(err.Error(), "this port speaks STOMP, not OpenWire; OpenWire is on tcp://127.0.0.1:61616") {
		t.Errorf("error %v", err)
	}
	// STOMP clients are served as before.
	sc := r.connect("1.2")
	sc.nc.Close()
}
