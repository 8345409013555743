package wire

// Message is every message type (23 Message, 24 Bytes, 25 Map, 26 Object,
// 27 Stream, 28 Text, 29 Blob); Type selects which. The body is kept in its
// wire form in Content and the properties in MarshalledProperties, so a
// broker can pass both through byte for byte; see body.go and
// Properties/SetProperties for the decoded forms.
type Message struct {
	CommandHeader
	Type                  byte // TypeMessage ... TypeBlobMessage; 0 means TypeMessage
	ProducerID            *ProducerID
	Destination           *Destination
	TransactionID         TransactionID
	OriginalDestination   *Destination
	MessageID             *MessageID
	OriginalTransactionID TransactionID
	GroupID               string // JMSXGroupID
	GroupSequence         int32  // JMSXGroupSeq
	CorrelationID         string
	Persistent            bool
	Expiration            int64 // absolute ms, 0 = never
	Priority              byte
	ReplyTo               *Destination
	Timestamp             int64
	JMSType               string
	Content               []byte // body bytes (zlib-deflated if Compressed)
	MarshalledProperties  []byte // a primitive map, or nil
	// DataStructure carries the subject of advisory messages (e.g. a
	// DestinationInfo).
	DataStructure             DataStructure
	TargetConsumerID          *ConsumerID
	Compressed                bool
	RedeliveryCounter         int32
	BrokerPath                []*BrokerID
	Arrival                   int64
	UserID                    string // JMSXUserID
	ReceivedByDFBridge        bool
	Droppable                 bool
	Cluster                   []*BrokerID
	BrokerInTime              int64
	BrokerOutTime             int64
	JMSXGroupFirstForConsumer bool

	// BlobMessage (type 29) only.
	RemoteBlobURL   string
	MimeType        string
	DeletedByBroker bool
}

// DataType returns m.Type, or TypeMessage if it is unset.
func (m *Message) DataType() byte {
	if m.Type == 0 {
		return TypeMessage
	}
	return m.Type
}

func (m *Message) marshal(w *writer) {
	if t := m.DataType(); t < TypeMessage || t > TypeBlobMessage {
		w.fail("message type %d", t)
		return
	}
	m.marshalHeader(w)
	w.nested(m.ProducerID)
	w.nested(m.Destination)
	w.nested(m.TransactionID)
	w.nested(m.OriginalDestination)
	w.nested(m.MessageID)
	w.nested(m.OriginalTransactionID)
	w.str(m.GroupID)
	w.i32(m.GroupSequence)
	w.str(m.CorrelationID)
	w.boolean(m.Persistent)
	w.i64(m.Expiration)
	w.u8(m.Priority)
	w.nested(m.ReplyTo)
	w.i64(m.Timestamp)
	w.str(m.JMSType)
	w.bytes(m.Content)
	w.bytes(m.MarshalledProperties)
	w.nested(m.DataStructure)
	w.nested(m.TargetConsumerID)
	w.boolean(m.Compressed)
	w.i32(m.RedeliveryCounter)
	writeArray(w, m.BrokerPath)
	w.i64(m.Arrival)
	w.str(m.UserID)
	w.boolean(m.ReceivedByDFBridge)
	if w.version == 1 {
		return // v1 has no BlobMessage either
	}
	w.boolean(m.Droppable)
	writeArray(w, m.Cluster)
	w.i64(m.BrokerInTime)
	w.i64(m.BrokerOutTime)
	if w.version >= 10 {
		w.boolean(m.JMSXGroupFirstForConsumer)
	}
	if m.Type == TypeBlobMessage {
		w.str(m.RemoteBlobURL)
		w.str(m.MimeType)
		w.boolean(m.DeletedByBroker)
	}
}

func (m *Message) unmarshal(r *reader) {
	m.unmarshalHeader(r)
	m.ProducerID = readNested[*ProducerID](r, "Message.producerId")
	m.Destination = readDestination(r, "Message.destination")
	m.TransactionID = readTransactionID(r, "Message.transactionId")
	m.OriginalDestination = readDestination(r, "Message.originalDestination")
	m.MessageID = readNested[*MessageID](r, "Message.messageId")
	m.OriginalTransactionID = readTransactionID(r, "Message.originalTransactionId")
	m.GroupID = r.str()
	m.GroupSequence = r.i32()
	m.CorrelationID = r.str()
	m.Persistent = r.boolean()
	m.Expiration = r.i64()
	m.Priority = r.u8()
	m.ReplyTo = readDestination(r, "Message.replyTo")
	m.Timestamp = r.i64()
	m.JMSType = r.str()
	m.Content = r.bytes()
	m.MarshalledProperties = r.bytes()
	m.DataStructure = r.nested()
	m.TargetConsumerID = readNested[*ConsumerID](r, "Message.targetConsumerId")
	m.Compressed = r.boolean()
	m.RedeliveryCounter = r.i32()
	m.BrokerPath = readArray[*BrokerID](r, "Message.brokerPath")
	m.Arrival = r.i64()
	m.UserID = r.str()
	m.ReceivedByDFBridge = r.boolean()
	if r.version == 1 {
		return
	}
	m.Droppable = r.boolean()
	m.Cluster = readArray[*BrokerID](r, "Message.cluster")
	m.BrokerInTime = r.i64()
	m.BrokerOutTime = r.i64()
	if r.version >= 10 {
		m.JMSXGroupFirstForConsumer = r.boolean()
	}
	if m.Type == TypeBlobMessage {
		m.RemoteBlobURL = r.str()
		m.MimeType = r.str()
		m.DeletedByBroker = r.boolean()
	}
}
