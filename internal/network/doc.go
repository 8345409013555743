// Package network owns Pier's network connectors (docs/network.md): bridges
// that forward messages to other brokers. So far it holds the store and
// forward core of a bridge: the Sender, which sends a bridge's outbox (see
// broker.Outbox) to the remote broker in order, and removes each message
// once the remote has stored it. Demand tracking and the bridges' life
// cycle in `pier serve` are not built yet.
package network
