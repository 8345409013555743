package client

import "github.com/piermq/pier/internal/protocol/openwire/wire"

// BridgeInfo is what a network bridge tells the broker it connected to
// about the broker it comes from: ActiveMQ's BrokerInfo with
// networkConnection set. With Duplex, the remote broker is asked to bridge
// back (Pier dials URL).
type BridgeInfo struct {
	BrokerID   string // the bridging broker's id
	BrokerName string
	URL        string // where the remote broker reaches it, e.g. failover:(tcp://a:61616,tcp://b:61616)
	Duplex     bool
	// Properties are the bridge's settings for the way back (ActiveMQ's
	// networkProperties; Pier writes them as a URL query).
	Properties string
}

// AnnounceBridge sends info to the broker (one way, no answer). A broker
// acts on a duplex request only for a user allowed to open bridges, which
// it knows from the login: Options.Bridge sends info before it, as
// ActiveMQ's bridges do, and on every socket of a failover connection.
func (c *Conn) AnnounceBridge(info BridgeInfo) error { return c.oneway(info.command()) }

func (info *BridgeInfo) command() *wire.BrokerInfo {
	return &wire.BrokerInfo{BrokerID: &wire.BrokerID{Value: info.BrokerID}, BrokerName: info.BrokerName,
		BrokerURL: info.URL, NetworkConnection: true, DuplexConnection: info.Duplex,
		NetworkProperties: info.Properties}
}
