// Package network owns Pier's network connectors (docs/network.md): bridges
// that forward messages to the brokers where the consumers are. A bridge
// dials a connector member with Pier's Go client (tcp://, or ssl:// with
// Connector.TLS, logging in with the connector's credentials), learns the
// remote demand from its consumer advisories, moves what it takes into an
// outbox (broker.Outbox) and sends the outbox in order with the Sender,
// which removes each message once the remote broker has stored it. Duplex
// starts the bridge back that a remote duplex connector asks for.
package network
