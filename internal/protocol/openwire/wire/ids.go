package wire

import "strconv"

// Data structure type ids (CommandTypes.java).
const (
	TypeQueue              byte = 100
	TypeTopic              byte = 101
	TypeTempQueue          byte = 102
	TypeTempTopic          byte = 103
	TypeMessageID          byte = 110
	TypeLocalTransactionID byte = 111
	TypeXATransactionID    byte = 112
	TypeConnectionID       byte = 120
	TypeSessionID          byte = 121
	TypeConsumerID         byte = 122
	TypeProducerID         byte = 123
	TypeBrokerID           byte = 124
)

// Destination is an ActiveMQDestination: Type is TypeQueue, TypeTopic,
// TypeTempQueue or TypeTempTopic. PhysicalName may be composite (comma
// separated) and may carry "?options".
type Destination struct {
	Type         byte
	PhysicalName string
}

// DataType returns d.Type (TypeQueue if unset).
func (d *Destination) DataType() byte {
	if d.Type == 0 {
		return TypeQueue
	}
	return d.Type
}

// IsTopic reports whether d is a topic or temporary topic.
func (d *Destination) IsTopic() bool { t := d.DataType(); return t == TypeTopic || t == TypeTempTopic }

// IsTemporary reports whether d is a temporary queue or topic.
func (d *Destination) IsTemporary() bool {
	t := d.DataType()
	return t == TypeTempQueue || t == TypeTempTopic
}

func (d *Destination) String() string {
	prefix := map[byte]string{TypeQueue: "queue://", TypeTopic: "topic://",
		TypeTempQueue: "temp-queue://", TypeTempTopic: "temp-topic://"}[d.DataType()]
	return prefix + d.PhysicalName
}

func (d *Destination) marshal(w *writer)   { w.str(d.PhysicalName) }
func (d *Destination) unmarshal(r *reader) { d.PhysicalName = r.str() }

// ConnectionID identifies a connection (opaque string chosen by the client).
type ConnectionID struct{ Value string }

func (*ConnectionID) DataType() byte         { return TypeConnectionID }
func (id *ConnectionID) String() string      { return id.Value }
func (id *ConnectionID) marshal(w *writer)   { w.str(id.Value) }
func (id *ConnectionID) unmarshal(r *reader) { id.Value = r.str() }

// SessionID identifies a session within a connection.
type SessionID struct {
	ConnectionID string
	Value        int64
}

func (*SessionID) DataType() byte { return TypeSessionID }
func (id *SessionID) String() string {
	return id.ConnectionID + ":" + strconv.FormatInt(id.Value, 10)
}
func (id *SessionID) marshal(w *writer) { w.str(id.ConnectionID); w.i64(id.Value) }
func (id *SessionID) unmarshal(r *reader) {
	id.ConnectionID = r.str()
	id.Value = r.i64()
}

// ConsumerID identifies a consumer.
type ConsumerID struct {
	ConnectionID string
	SessionID    int64
	Value        int64
}

func (*ConsumerID) DataType() byte { return TypeConsumerID }

// String is connectionId:sessionId:value, as ConsumerId.toString() in Java.
func (id *ConsumerID) String() string {
	var buf [64]byte
	return string(id.Append(buf[:0]))
}

// Append appends id.String() to b.
func (id *ConsumerID) Append(b []byte) []byte {
	return appendID(b, id.ConnectionID, id.SessionID, id.Value)
}
func (id *ConsumerID) marshal(w *writer) {
	w.str(id.ConnectionID)
	w.i64(id.SessionID)
	w.i64(id.Value)
}
func (id *ConsumerID) unmarshal(r *reader) {
	id.ConnectionID = r.str()
	id.SessionID = r.i64()
	id.Value = r.i64()
}

// ProducerID identifies a producer. On the wire Value precedes SessionID.
type ProducerID struct {
	ConnectionID string
	Value        int64
	SessionID    int64
}

func (*ProducerID) DataType() byte { return TypeProducerID }

// String is connectionId:sessionId:value, as ProducerId.toString() in Java.
func (id *ProducerID) String() string {
	var buf [64]byte
	return string(id.Append(buf[:0]))
}

// Append appends id.String() to b.
func (id *ProducerID) Append(b []byte) []byte {
	return appendID(b, id.ConnectionID, id.SessionID, id.Value)
}

// appendID appends connection:session:value.
func appendID(b []byte, connection string, session, value int64) []byte {
	b = append(b, connection...)
	b = append(b, ':')
	b = strconv.AppendInt(b, session, 10)
	b = append(b, ':')
	return strconv.AppendInt(b, value, 10)
}
func (id *ProducerID) marshal(w *writer) {
	w.str(id.ConnectionID)
	w.i64(id.Value)
	w.i64(id.SessionID)
}
func (id *ProducerID) unmarshal(r *reader) {
	id.ConnectionID = r.str()
	id.Value = r.i64()
	id.SessionID = r.i64()
}

// BrokerID identifies a broker.
type BrokerID struct{ Value string }

func (*BrokerID) DataType() byte         { return TypeBrokerID }
func (id *BrokerID) marshal(w *writer)   { w.str(id.Value) }
func (id *BrokerID) unmarshal(r *reader) { id.Value = r.str() }

// MessageID identifies a message. Java equality uses only ProducerID and
// ProducerSequenceID.
type MessageID struct {
	TextView           string
	ProducerID         *ProducerID
	ProducerSequenceID int64
	BrokerSequenceID   int64
}

func (*MessageID) DataType() byte { return TypeMessageID }

// String mirrors MessageId.toString(): the text view if set, else
// producerId:producerSequenceId.
func (id *MessageID) String() string {
	if id.TextView != "" {
		return id.TextView
	}
	p := ""
	if id.ProducerID != nil {
		p = id.ProducerID.String()
	}
	return p + ":" + strconv.FormatInt(id.ProducerSequenceID, 10)
}
func (id *MessageID) marshal(w *writer) {
	if w.version >= 10 {
		w.str(id.TextView)
	}
	w.nested(id.ProducerID)
	w.i64(id.ProducerSequenceID)
	w.i64(id.BrokerSequenceID)
}
func (id *MessageID) unmarshal(r *reader) {
	if r.version >= 10 {
		id.TextView = r.str()
	}
	id.ProducerID = readNested[*ProducerID](r, "MessageId.producerId")
	id.ProducerSequenceID = r.i64()
	id.BrokerSequenceID = r.i64()
}

// TransactionID is a LocalTransactionID or an XATransactionID.
type TransactionID interface {
	DataStructure
	isTransactionID()
}

// LocalTransactionID is a JMS local transaction. On the wire Value precedes
// ConnectionID.
type LocalTransactionID struct {
	Value        int64
	ConnectionID *ConnectionID
}

func (*LocalTransactionID) DataType() byte   { return TypeLocalTransactionID }
func (*LocalTransactionID) isTransactionID() {}
func (id *LocalTransactionID) marshal(w *writer) {
	w.i64(id.Value)
	w.nested(id.ConnectionID)
}
func (id *LocalTransactionID) unmarshal(r *reader) {
	id.Value = r.i64()
	id.ConnectionID = readNested[*ConnectionID](r, "LocalTransactionId.connectionId")
}

// XATransactionID is an XA Xid.
type XATransactionID struct {
	FormatID            int32
	GlobalTransactionID []byte
	BranchQualifier     []byte
}

func (*XATransactionID) DataType() byte   { return TypeXATransactionID }
func (*XATransactionID) isTransactionID() {}
func (id *XATransactionID) marshal(w *writer) {
	w.i32(id.FormatID)
	w.bytes(id.GlobalTransactionID)
	w.bytes(id.BranchQualifier)
}
func (id *XATransactionID) unmarshal(r *reader) {
	id.FormatID = r.i32()
	id.GlobalTransactionID = r.bytes()
	id.BranchQualifier = r.bytes()
}
