package wire

// BrokerInfo (type 2) describes the broker; sent by the broker after its
// WireFormatInfo. Set at least BrokerID and BrokerName.
type BrokerInfo struct {
	CommandHeader
	BrokerID                   *BrokerID
	BrokerURL                  string
	PeerBrokerInfos            []*BrokerInfo
	BrokerName                 string
	SlaveBroker                bool
	MasterBroker               bool
	FaultTolerantConfiguration bool
	DuplexConnection           bool
	NetworkConnection          bool
	ConnectionID               int64
	BrokerUploadURL            string
	NetworkProperties          string
}

func (*BrokerInfo) DataType() byte { return TypeBrokerInfo }

func (c *BrokerInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.BrokerID)
	w.str(c.BrokerURL)
	writeArray(w, c.PeerBrokerInfos)
	w.str(c.BrokerName)
	w.boolean(c.SlaveBroker)
	w.boolean(c.MasterBroker)
	w.boolean(c.FaultTolerantConfiguration)
	if w.version == 1 {
		return
	}
	w.boolean(c.DuplexConnection)
	w.boolean(c.NetworkConnection)
	w.i64(c.ConnectionID)
	w.str(c.BrokerUploadURL)
	w.str(c.NetworkProperties)
}

func (c *BrokerInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.BrokerID = readNested[*BrokerID](r, "BrokerInfo.brokerId")
	c.BrokerURL = r.str()
	c.PeerBrokerInfos = readArray[*BrokerInfo](r, "BrokerInfo.peerBrokerInfos")
	c.BrokerName = r.str()
	c.SlaveBroker = r.boolean()
	c.MasterBroker = r.boolean()
	c.FaultTolerantConfiguration = r.boolean()
	if r.version == 1 {
		return
	}
	c.DuplexConnection = r.boolean()
	c.NetworkConnection = r.boolean()
	c.ConnectionID = r.i64()
	c.BrokerUploadURL = r.str()
	c.NetworkProperties = r.str()
}

// ConnectionInfo (type 3) opens a connection. On the wire Password precedes
// UserName.
type ConnectionInfo struct {
	CommandHeader
	ConnectionID          *ConnectionID
	ClientID              string
	Password              string
	UserName              string
	BrokerPath            []*BrokerID
	BrokerMasterConnector bool
	Manageable            bool
	ClientMaster          bool
	FaultTolerant         bool
	FailoverReconnect     bool
	ClientIP              string
}

func (*ConnectionInfo) DataType() byte { return TypeConnectionInfo }

func (c *ConnectionInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConnectionID)
	w.str(c.ClientID)
	w.str(c.Password)
	w.str(c.UserName)
	writeArray(w, c.BrokerPath)
	w.boolean(c.BrokerMasterConnector)
	w.boolean(c.Manageable)
	if w.version == 1 {
		return
	}
	w.boolean(c.ClientMaster)
	w.boolean(c.FaultTolerant)
	w.boolean(c.FailoverReconnect)
	w.str(c.ClientIP)
}

func (c *ConnectionInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConnectionID = readNested[*ConnectionID](r, "ConnectionInfo.connectionId")
	c.ClientID = r.str()
	c.Password = r.str()
	c.UserName = r.str()
	c.BrokerPath = readArray[*BrokerID](r, "ConnectionInfo.brokerPath")
	c.BrokerMasterConnector = r.boolean()
	c.Manageable = r.boolean()
	if r.version == 1 {
		c.ClientMaster = true // the Java default
		return
	}
	c.ClientMaster = r.boolean()
	c.FaultTolerant = r.boolean()
	c.FailoverReconnect = r.boolean()
	c.ClientIP = r.str()
}

// SessionInfo (type 4) opens a session.
type SessionInfo struct {
	CommandHeader
	SessionID *SessionID
}

func (*SessionInfo) DataType() byte { return TypeSessionInfo }

func (c *SessionInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.SessionID)
}

func (c *SessionInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.SessionID = readNested[*SessionID](r, "SessionInfo.sessionId")
}

// ConsumerInfo (type 5) opens a consumer, browser or durable subscription.
type ConsumerInfo struct {
	CommandHeader
	ConsumerID                 *ConsumerID
	Browser                    bool
	Destination                *Destination
	PrefetchSize               int32
	MaximumPendingMessageLimit int32
	DispatchAsync              bool
	Selector                   string
	ClientID                   string
	SubscriptionName           string
	NoLocal                    bool
	Exclusive                  bool
	Retroactive                bool
	Priority                   byte
	BrokerPath                 []*BrokerID
	// AdditionalPredicate is a BooleanExpression slot; the only type that can
	// travel in it is a NetworkBridgeFilter (broker networks).
	AdditionalPredicate  DataStructure
	NetworkSubscription  bool
	OptimizedAcknowledge bool
	NoRangeAcks          bool
	NetworkConsumerPath  []*ConsumerID
}

func (*ConsumerInfo) DataType() byte { return TypeConsumerInfo }

func (c *ConsumerInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConsumerID)
	w.boolean(c.Browser)
	w.nested(c.Destination)
	w.i32(c.PrefetchSize)
	w.i32(c.MaximumPendingMessageLimit)
	w.boolean(c.DispatchAsync)
	w.str(c.Selector)
	if w.version >= 10 {
		w.str(c.ClientID)
	}
	w.str(c.SubscriptionName)
	w.boolean(c.NoLocal)
	w.boolean(c.Exclusive)
	w.boolean(c.Retroactive)
	w.u8(c.Priority)
	writeArray(w, c.BrokerPath)
	w.nested(c.AdditionalPredicate)
	w.boolean(c.NetworkSubscription)
	w.boolean(c.OptimizedAcknowledge)
	w.boolean(c.NoRangeAcks)
	if w.version > 1 {
		writeArray(w, c.NetworkConsumerPath)
	}
}

func (c *ConsumerInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConsumerID = readNested[*ConsumerID](r, "ConsumerInfo.consumerId")
	c.Browser = r.boolean()
	c.Destination = readDestination(r, "ConsumerInfo.destination")
	c.PrefetchSize = r.i32()
	c.MaximumPendingMessageLimit = r.i32()
	c.DispatchAsync = r.boolean()
	c.Selector = r.str()
	if r.version >= 10 {
		c.ClientID = r.str()
	}
	c.SubscriptionName = r.str()
	c.NoLocal = r.boolean()
	c.Exclusive = r.boolean()
	c.Retroactive = r.boolean()
	c.Priority = r.u8()
	c.BrokerPath = readArray[*BrokerID](r, "ConsumerInfo.brokerPath")
	c.AdditionalPredicate = nil
	if p := readNested[*NetworkBridgeFilter](r, "ConsumerInfo.additionalPredicate"); p != nil {
		c.AdditionalPredicate = p
	}
	c.NetworkSubscription = r.boolean()
	c.OptimizedAcknowledge = r.boolean()
	c.NoRangeAcks = r.boolean()
	if r.version > 1 {
		c.NetworkConsumerPath = readArray[*ConsumerID](r, "ConsumerInfo.networkConsumerPath")
	}
}

// ProducerInfo (type 6) opens a producer; Destination is nil for an
// anonymous producer.
type ProducerInfo struct {
	CommandHeader
	ProducerID    *ProducerID
	Destination   *Destination
	BrokerPath    []*BrokerID
	DispatchAsync bool
	WindowSize    int32
}

func (*ProducerInfo) DataType() byte { return TypeProducerInfo }

func (c *ProducerInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ProducerID)
	w.nested(c.Destination)
	writeArray(w, c.BrokerPath)
	if w.version == 1 {
		return
	}
	w.boolean(c.DispatchAsync)
	w.i32(c.WindowSize)
}

func (c *ProducerInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ProducerID = readNested[*ProducerID](r, "ProducerInfo.producerId")
	c.Destination = readDestination(r, "ProducerInfo.destination")
	c.BrokerPath = readArray[*BrokerID](r, "ProducerInfo.brokerPath")
	if r.version == 1 {
		return
	}
	c.DispatchAsync = r.boolean()
	c.WindowSize = r.i32()
}

// TransactionInfo operation types.
const (
	TxBegin          byte = 0
	TxPrepare        byte = 1
	TxCommitOnePhase byte = 2
	TxCommitTwoPhase byte = 3
	TxRollback       byte = 4
	TxRecover        byte = 5
	TxForget         byte = 6
	TxEnd            byte = 7
)

// TransactionInfo (type 7) begins, commits, rolls back ... a transaction.
type TransactionInfo struct {
	CommandHeader
	ConnectionID  *ConnectionID
	TransactionID TransactionID
	Type          byte // TxBegin ...
}

func (*TransactionInfo) DataType() byte { return TypeTransactionInfo }

func (c *TransactionInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConnectionID)
	w.nested(c.TransactionID)
	w.u8(c.Type)
}

func (c *TransactionInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConnectionID = readNested[*ConnectionID](r, "TransactionInfo.connectionId")
	c.TransactionID = readTransactionID(r, "TransactionInfo.transactionId")
	c.Type = r.u8()
}

// DestinationInfo operation types.
const (
	DestinationAdd    byte = 0
	DestinationRemove byte = 1
)

// DestinationInfo (type 8) creates or deletes a (temporary) destination.
type DestinationInfo struct {
	CommandHeader
	ConnectionID  *ConnectionID
	Destination   *Destination
	OperationType byte // DestinationAdd or DestinationRemove
	Timeout       int64
	BrokerPath    []*BrokerID
}

func (*DestinationInfo) DataType() byte { return TypeDestinationInfo }

func (c *DestinationInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConnectionID)
	w.nested(c.Destination)
	w.u8(c.OperationType)
	w.i64(c.Timeout)
	writeArray(w, c.BrokerPath)
}

func (c *DestinationInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConnectionID = readNested[*ConnectionID](r, "DestinationInfo.connectionId")
	c.Destination = readDestination(r, "DestinationInfo.destination")
	c.OperationType = r.u8()
	c.Timeout = r.i64()
	c.BrokerPath = readArray[*BrokerID](r, "DestinationInfo.brokerPath")
}

// RemoveSubscriptionInfo (type 9) deletes a durable subscription.
type RemoveSubscriptionInfo struct {
	CommandHeader
	ConnectionID     *ConnectionID
	SubscriptionName string
	ClientID         string
}

func (*RemoveSubscriptionInfo) DataType() byte { return TypeRemoveSubscriptionInfo }

func (c *RemoveSubscriptionInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConnectionID)
	w.str(c.SubscriptionName)
	w.str(c.ClientID)
}

func (c *RemoveSubscriptionInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConnectionID = readNested[*ConnectionID](r, "RemoveSubscriptionInfo.connectionId")
	c.SubscriptionName = r.str()
	c.ClientID = r.str()
}

// RemoveInfo (type 12) closes a connection, session, consumer or producer.
type RemoveInfo struct {
	CommandHeader
	// ObjectID is a *ConnectionID, *SessionID, *ConsumerID or *ProducerID.
	ObjectID DataStructure
	// LastDeliveredSequenceID: -1 unset, -2 unknown (Java default).
	LastDeliveredSequenceID int64
}

func (*RemoveInfo) DataType() byte { return TypeRemoveInfo }

func (c *RemoveInfo) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ObjectID)
	if w.version > 1 {
		w.i64(c.LastDeliveredSequenceID)
	}
}

func (c *RemoveInfo) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	start := r.off
	c.ObjectID = r.nested()
	switch c.ObjectID.(type) {
	case nil, *ConnectionID, *SessionID, *ConsumerID, *ProducerID:
	default:
		r.off = start
		r.fail("RemoveInfo.objectId: unexpected type %d", c.ObjectID.DataType())
	}
	if r.version == 1 {
		c.LastDeliveredSequenceID = lastDeliveredUnknown
		return
	}
	c.LastDeliveredSequenceID = r.i64()
}
