package wire

// SubscriptionInfo (type 55, no BaseCommand prefix) describes a durable
// subscription; it travels inside BrokerSubscriptionInfo and DataArrayResponse.
type SubscriptionInfo struct {
	ClientID              string
	Destination           *Destination
	Selector              string
	SubscriptionName      string
	SubscribedDestination *Destination
	NoLocal               bool
}

func (*SubscriptionInfo) DataType() byte { return TypeSubscriptionInfo }
func (c *SubscriptionInfo) marshal(w *writer) {
	w.str(c.ClientID)
	w.nested(c.Destination)
	w.str(c.Selector)
	w.str(c.SubscriptionName)
	if w.version == 1 {
		return
	}
	w.nested(c.SubscribedDestination)
	if w.version >= 11 {
		w.boolean(c.NoLocal)
	}
}
func (c *SubscriptionInfo) unmarshal(r *reader) {
	c.ClientID = r.str()
	c.Destination = readDestination(r, "SubscriptionInfo.destination")
	c.Selector = r.str()
	c.SubscriptionName = r.str()
	if r.version == 1 {
		return
	}
	c.SubscribedDestination = readDestination(r, "SubscriptionInfo.subscribedDestination")
	if r.version >= 11 {
		c.NoLocal = r.boolean()
	}
}

// BrokerSubscriptionInfo (type 92) lists durable subscriptions between brokers.
type BrokerSubscriptionInfo struct {
	CommandHeader
	BrokerID          *BrokerID
	BrokerName        string
	SubscriptionInfos []*SubscriptionInfo
}

func (*BrokerSubscriptionInfo) DataType() byte { return TypeBrokerSubscriptionInfo }
func (c *BrokerSubscriptionInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.BrokerID)
	w.str(c.BrokerName)
	writeArray(w, c.SubscriptionInfos)
}
func (c *BrokerSubscriptionInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.BrokerID = readNested[*BrokerID](r, "BrokerSubscriptionInfo.brokerId")
	c.BrokerName = r.str()
	c.SubscriptionInfos = readArray[*SubscriptionInfo](r, "BrokerSubscriptionInfo.subscriptionInfos")
}

// NetworkBridgeFilter (type 91, no prefix) is the only BooleanExpression that
// can travel in ConsumerInfo.AdditionalPredicate (broker networks). Versions
// 9 and older carry a single networkTTL instead of the two TTLs, and before
// the broker id: it is written from MessageTTL and read into both, as Java's
// getNetworkTTL/setNetworkTTL do.
type NetworkBridgeFilter struct {
	NetworkBrokerID *BrokerID
	MessageTTL      int32
	ConsumerTTL     int32
}

func (*NetworkBridgeFilter) DataType() byte { return TypeNetworkBridgeFilter }
func (c *NetworkBridgeFilter) marshal(w *writer) {
	if w.version <= 9 {
		w.i32(c.MessageTTL) // networkTTL, before the broker id
		w.nested(c.NetworkBrokerID)
		return
	}
	w.nested(c.NetworkBrokerID)
	w.i32(c.MessageTTL)
	w.i32(c.ConsumerTTL)
}
func (c *NetworkBridgeFilter) unmarshal(r *reader) {
	if r.version <= 9 {
		c.MessageTTL = r.i32() // networkTTL, before the broker id
		c.ConsumerTTL = c.MessageTTL
		c.NetworkBrokerID = readNested[*BrokerID](r, "NetworkBridgeFilter.networkBrokerId")
		return
	}
	c.NetworkBrokerID = readNested[*BrokerID](r, "NetworkBridgeFilter.networkBrokerId")
	c.MessageTTL = r.i32()
	c.ConsumerTTL = r.i32()
}
