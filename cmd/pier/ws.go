package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/protocol/stomp"
	"github.com/piermq/pier/internal/server"
)

// connServer serves connections accepted elsewhere (netserve.Server.ServeConn).
type connServer interface {
	ServeConn(nc net.Conn)
	Shutdown(ctx context.Context) error
}

// wsProtocol builds the ws:// listener's server: STOMP, and MQTT when
// newMQTT is not nil, chosen by the WebSocket subprotocol.
func wsProtocol(scfg stomp.Config, newMQTT func(b *broker.Broker) connServer, log *slog.Logger) func(b *broker.Broker) server.Protocol {
	return nil
}
