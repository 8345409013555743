package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/protocol/wsserve"
	"github.com/piermq/pier/internal/server"
)

// wsProtocol builds the ws:// listener's server: STOMP or MQTT, chosen by
// the WebSocket subprotocol.
func wsProtocol(scfg stomp.Config, newMQTT func(b *broker.Broker) wsserve.ConnServer, log *slog.Logger) func(b *broker.Broker) server.Protocol {
	// A WebSocket message may hold the largest frame the STOMP server
	// accepts: limits.max_frame_size bounds its body, and its command and
	// headers come on top (an MQTT packet, whose limit is the frame size,
	// fits too).
	lim := scfg.Limits.EnsureDefaults()
	wcfg := wsserve.Config{ReadLimit: int64(lim.MaxFrameSize) + int64(lim.MaxHeaders+2)*int64(lim.MaxHeaderLength+2)}
	return func(b *broker.Broker) server.Protocol {
		handlers := map[string]wsserve.ConnServer{wsserve.STOMP: stomp.NewServer(scfg, b, log), wsserve.MQTT: newMQTT(b)}
		s, err := wsserve.New(wcfg, handlers, log)
		if err != nil {
			return failedProtocol{err}
		}
		return s
	}
}

// failedProtocol is a listener's server that could not be built: Serve
// reports why, and the broker stops with it.
type failedProtocol struct{ err error }

func (f failedProtocol) Serve(ln net.Listener) error {
	ln.Close()
	return f.err
}

func (f failedProtocol) Shutdown(context.Context) error { return nil }
