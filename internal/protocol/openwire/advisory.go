package openwire

import (
	"math"
	"strconv"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// propOriginBrokerURL is ActiveMQ's originBrokerURL advisory property: the
// URL clients reach the announcing broker at.
const propOriginBrokerURL = "originBrokerURL"

// consumerAdvisoryToWire turns a core consumer advisory into the one
// ActiveMQ's AdvisoryBroker sends: a plain ActiveMQMessage of type
// "Advisory" carrying a ConsumerInfo (a consumer added), a RemoveInfo (one
// removed) or a RemoveSubscriptionInfo (a durable subscription deleted),
// with the properties consumerCount, originBrokerName, originBrokerId and
// originBrokerURL.
func (c *conn) consumerAdvisoryToWire(w *wire.Message, a *broker.ConsumerAdvisory, m *message.Message) (*wire.Message, error) {
	props := map[string]any{broker.PropConsumerCount: int32(a.ConsumerCount)}
	for _, k := range []string{broker.PropOriginBrokerName, broker.PropOriginBrokerID} {
		if v, ok := m.Properties[k]; ok {
			props[k] = v
		}
	}
	if u := c.srv.cfg.BrokerURL; u != "" {
		props[propOriginBrokerURL] = u
	}
	enc, err := wire.MarshalJavaProperties(props)
	if err != nil {
		return nil, err
	}
	w.Type = wire.TypeMessage
	w.Content = nil
	w.MarshalledProperties = enc
	switch a.Op {
	case broker.AdvisoryRemove:
		w.DataStructure = &wire.RemoveInfo{ObjectID: consumerIDOf(a), LastDeliveredSequenceID: lastDeliveredUnknown}
	case broker.AdvisoryUnsubscribe:
		w.DataStructure = &wire.RemoveSubscriptionInfo{ConnectionID: &wire.ConnectionID{Value: a.ConnectionID},
			SubscriptionName: a.DurableName, ClientID: a.ClientID}
	default:
		w.DataStructure = consumerInfoOf(a)
	}
	return w, nil
}

// lastDeliveredUnknown is RemoveInfo's LAST_DELIVERED_UNKNOWN, the value of
// the RemoveInfo ActiveMQ announces.
const lastDeliveredUnknown = -2

// consumerInfoOf describes an announced consumer as the ConsumerInfo its
// client would have sent.
func consumerInfoOf(a *broker.ConsumerAdvisory) *wire.ConsumerInfo {
	info := &wire.ConsumerInfo{
		ConsumerID: consumerIDOf(a), Destination: destToWire(a.Dest), PrefetchSize: int32(min(a.Prefetch, math.MaxInt32)),
		Selector: a.Selector, ClientID: a.ClientID, SubscriptionName: a.DurableName, NoLocal: a.NoLocal,
		Priority: byte(int8(max(min(a.Priority, math.MaxInt8), math.MinInt8))), NetworkSubscription: a.Network,
	}
	for _, id := range a.BrokerPath {
		info.BrokerPath = append(info.BrokerPath, &wire.BrokerID{Value: id})
	}
	return info
}

// consumerIDOf returns the ConsumerId of an announced consumer: the one its
// OpenWire client chose (the core knows it by its string form), or for a
// consumer of another protocol one made as ActiveMQ's STOMP adapter makes
// them — its connection, session -1, and a number unique in the broker.
func consumerIDOf(a *broker.ConsumerAdvisory) *wire.ConsumerID {
	rest, v, ok1 := cutLast(a.ConsumerID)
	connID, sess, ok2 := cutLast(rest)
	vn, err1 := strconv.ParseInt(v, 10, 64)
	sn, err2 := strconv.ParseInt(sess, 10, 64)
	if ok1 && ok2 && err1 == nil && err2 == nil && connID != "" {
		return &wire.ConsumerID{ConnectionID: connID, SessionID: sn, Value: vn}
	}
	return &wire.ConsumerID{ConnectionID: a.ConnectionID, SessionID: -1, Value: a.ConsumerSeq}
}

// subOptionsOf maps what a ConsumerInfo says about a network bridge's
// subscription: whether it is one, and the broker path of its demand (its
// priority is mapped with the other options).
func subOptionsOf(info *wire.ConsumerInfo, o *broker.SubOptions) {
	o.Network = info.NetworkSubscription
	for _, id := range info.BrokerPath {
		if id != nil {
			o.BrokerPath = append(o.BrokerPath, id.Value)
		}
	}
}

// brokerPathToCore and brokerPathToWire map Message.brokerPath.
func brokerPathToCore(path []*wire.BrokerID) []string {
	if len(path) == 0 {
		return nil
	}
	out := make([]string, 0, len(path))
	for _, id := range path {
		if id != nil {
			out = append(out, id.Value)
		}
	}
	return out
}

func brokerPathToWire(path []string) []*wire.BrokerID {
	if len(path) == 0 {
		return nil
	}
	out := make([]*wire.BrokerID, len(path))
	for i, id := range path {
		out[i] = &wire.BrokerID{Value: id}
	}
	return out
}
