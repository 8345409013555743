package client

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// fakeBroker accepts OpenWire connections, answers every request with a
// Response and, after the ConnectionInfo, sends control: just enough to
// push any ConnectionControl to the client (Pier's broker sends only
// connectedBrokers, see TestFailoverToAdvertisedBroker).
func fakeBroker(t *testing.T, control *wire.ConnectionControl) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return fakeBrokerOn(t, ln, control)
}

// fakeBrokerOn is fakeBroker on ln (a TLS listener, say).
func fakeBrokerOn(t *testing.T, ln net.Listener, control *wire.ConnectionControl) string {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serveFake(nc, control)
			}()
		}
	}()
	return ln.Addr().String()
}

func serveFake(nc net.Conn, control *wire.ConnectionControl) {
	dec := wire.NewDecoder(nc, wire.Options{})
	enc := wire.NewEncoder(nc, wire.Options{})
	var opts Options
	opts.EnsureDefaults()
	opts.MaxInactivity = -1
	if err := enc.Encode(clientWireFormat(&opts)); err != nil {
		return
	}
	for {
		cmd, err := dec.Decode()
		if err != nil {
			return
		}
		bc, ok := cmd.(wire.BaseCommand)
		if !ok {
			continue
		}
		if _, ok := cmd.(*wire.ConnectionInfo); ok && announce(enc) != nil {
			return
		}
		if bc.ResponseRequired() {
			if enc.Encode(&wire.Response{CorrelationID: bc.CommandID()}) != nil {
				return
			}
		}
		if _, ok := cmd.(*wire.ConnectionInfo); ok && control != nil {
			if enc.Encode(control) != nil {
				return
			}
		}
	}
}

func TestFailoverConnectionControl(t *testing.T) {
	for _, tc := range []struct {
		name    string
		control func(pier string) *wire.ConnectionControl
	}{
		{"reconnectTo", func(p string) *wire.ConnectionControl {
			return &wire.ConnectionControl{ReconnectTo: "tcp://" + p}
		}},
		{"connectedBrokers+rebalance", func(p string) *wire.ConnectionControl {
			return &wire.ConnectionControl{ConnectedBrokers: "tcp://" + p, RebalanceConnection: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pier := startPier(t)
			fake := fakeBroker(t, tc.control(pier))
			var opts Options
			h := newHooks(&opts)
			c := dial(t, fastFailover(fake), opts)
			if got := h.waitResumed(t); got != pier {
				t.Fatalf("moved to %s, want %s", got, pier)
			}
			s := session(t, c, AutoAck)
			send(t, producer(t, s, Queue("fo.moved")), "on pier")
			receiveText(t, consumer(t, s, Queue("fo.moved")), "on pier")
		})
	}
}

func TestFailoverConnectedBrokersWithoutRebalance(t *testing.T) {
	fake := fakeBroker(t, &wire.ConnectionControl{ConnectedBrokers: "tcp://127.0.0.1:1,tcp://127.0.0.1:2"})
	c := dial(t, fastFailover(fake), Options{})
	// The broker list is taken, but the connection stays where it is.
	if _, err := c.Session(testCtx(t), AutoAck); err != nil {
		t.Fatal(err)
	}
	c.fo.mu.Lock()
	updated, current := c.fo.mu.updated, c.fo.mu.current
	c.fo.mu.Unlock()
	if len(updated) != 2 || updated[0].Host != "127.0.0.1:1" || current != fake {
		t.Fatalf("updated %v, current %s", updated, current)
	}
	list := c.fo.connectList(fake)
	if len(list) != 3 || list[0].Host != "127.0.0.1:1" || list[2].Host != fake {
		t.Errorf("connect list %v: want the pushed brokers first, the failed one last", list)
	}
}

func TestFailoverIgnoresUpdatesWhenDisabled(t *testing.T) {
	fake := fakeBroker(t, &wire.ConnectionControl{ConnectedBrokers: "tcp://127.0.0.1:1", ReconnectTo: "tcp://127.0.0.1:2"})
	c := dial(t, fastFailover(fake)+"&updateURIsSupported=false&reconnectSupported=false", Options{})
	if _, err := c.Session(testCtx(t), AutoAck); err != nil {
		t.Fatal(err)
	}
	c.fo.mu.Lock()
	defer c.fo.mu.Unlock()
	if len(c.fo.mu.updated) != 0 || c.fo.mu.target != nil || c.fo.mu.current != fake {
		t.Fatalf("updates applied although disabled: updated %v, current %s", c.fo.mu.updated, c.fo.mu.current)
	}
	if err := c.Err(); errors.Is(err, ErrConnectionLost) {
		t.Fatal(err)
	}
}
