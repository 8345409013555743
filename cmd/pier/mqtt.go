package main

import (
	"log/slog"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/server"
)

// mqttConnServer is what the WebSocket transport needs of an MQTT server: it
// serves connections accepted elsewhere and stops with the span.
type mqttConnServer = connServer

// newMQTTServer returns how to build the MQTT server of a span's broker, for
// the WebSocket transport's "mqtt" subprotocols; nil while MQTT is not
// available.
func newMQTTServer(cfg *config.Config, log *slog.Logger) func(b *broker.Broker) mqttConnServer {
	return nil
}

// mqttProtocol builds the mqtt:// listener's server.
func mqttProtocol(cfg *config.Config, log *slog.Logger) func(b *broker.Broker) server.Protocol {
	return nil
}
