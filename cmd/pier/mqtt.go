package main

import (
	"log/slog"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/protocol/mqtt"
	"github.com/piermq/pier/internal/protocol/wsserve"
	"github.com/piermq/pier/internal/server"
)

// mqttConfig is the MQTT adapter's configuration.
func mqttConfig(cfg *config.Config, protocol string) mqtt.Config {
	m := cfg.MQTT
	return mqtt.Config{
		MaxPacketSize:     uint32(min(int64(cfg.Limits.MaxFrameSize), int64(^uint32(0)))),
		MaxConnections:    cfg.Limits.MaxConnections,
		MaxInflight:       m.MaxInflight,
		ReceiveMaximum:    uint16(m.ReceiveMaximum),
		MaxKeepAlive:      m.MaxKeepAlive,
		MaxSessionExpiry:  m.MaxSessionExpiry,
		TopicAliasMaximum: uint16(m.TopicAliasMaximum),
		Protocol:          protocol,
	}
}

// newMQTTServer returns how to build the MQTT server of a span's broker for
// the WebSocket transport's "mqtt" subprotocols.
func newMQTTServer(cfg *config.Config, log *slog.Logger) func(b *broker.Broker) wsserve.ConnServer {
	mcfg := mqttConfig(cfg, "mqtt+ws")
	return func(b *broker.Broker) wsserve.ConnServer { return mqtt.NewServer(mcfg, b, log) }
}

// mqttProtocol builds the mqtt:// listener's server.
func mqttProtocol(cfg *config.Config, log *slog.Logger) func(b *broker.Broker) server.Protocol {
	mcfg := mqttConfig(cfg, "mqtt")
	return func(b *broker.Broker) server.Protocol { return mqtt.NewServer(mcfg, b, log) }
}
