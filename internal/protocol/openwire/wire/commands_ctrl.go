package wire

// KeepAliveInfo (type 10) keeps an idle connection alive.
type KeepAliveInfo struct{ CommandHeader }

func (*KeepAliveInfo) DataType() byte        { return TypeKeepAliveInfo }
func (c *KeepAliveInfo) marshal(w *writer)   { c.marshalHeader(w) }
func (c *KeepAliveInfo) unmarshal(r *reader) { c.unmarshalHeader(r) }

// ShutdownInfo (type 11) is sent by the client just before it closes the socket.
type ShutdownInfo struct{ CommandHeader }

func (*ShutdownInfo) DataType() byte        { return TypeShutdownInfo }
func (c *ShutdownInfo) marshal(w *writer)   { c.marshalHeader(w) }
func (c *ShutdownInfo) unmarshal(r *reader) { c.unmarshalHeader(r) }

// FlushCommand (type 15).
type FlushCommand struct{ CommandHeader }

func (*FlushCommand) DataType() byte        { return TypeFlushCommand }
func (c *FlushCommand) marshal(w *writer)   { c.marshalHeader(w) }
func (c *FlushCommand) unmarshal(r *reader) { c.unmarshalHeader(r) }

// ControlCommand (type 14) carries a free-form command string.
type ControlCommand struct {
	CommandHeader
	Command string
}

func (*ControlCommand) DataType() byte { return TypeControlCommand }
func (c *ControlCommand) marshal(w *writer) {
	c.marshalHeader(w)
	w.str(c.Command)
}
func (c *ControlCommand) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.Command = r.str()
}

// ConnectionError (type 16) reports an asynchronous error to the client.
type ConnectionError struct {
	CommandHeader
	Exception    *Throwable
	ConnectionID *ConnectionID
}

func (*ConnectionError) DataType() byte { return TypeConnectionError }
func (c *ConnectionError) marshal(w *writer) {
	c.marshalHeader(w)
	w.throwable(c.Exception)
	w.nested(c.ConnectionID)
}
func (c *ConnectionError) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.Exception = r.throwable()
	c.ConnectionID = readNested[*ConnectionID](r, "ConnectionError.connectionId")
}

// ConsumerControl (type 17) changes a consumer's prefetch or closes it
// (broker→client), or restores the prefetch after failover (client→broker).
type ConsumerControl struct {
	CommandHeader
	Destination *Destination
	Close       bool
	ConsumerID  *ConsumerID
	Prefetch    int32
	Flush       bool
	Start       bool
	Stop        bool
}

func (*ConsumerControl) DataType() byte { return TypeConsumerControl }
func (c *ConsumerControl) marshal(w *writer) {
	c.marshalHeader(w)
	if w.version > 1 {
		w.nested(c.Destination)
	}
	w.boolean(c.Close)
	w.nested(c.ConsumerID)
	w.i32(c.Prefetch)
	if w.version == 1 {
		return
	}
	w.boolean(c.Flush)
	w.boolean(c.Start)
	w.boolean(c.Stop)
}
func (c *ConsumerControl) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	if r.version > 1 {
		c.Destination = readDestination(r, "ConsumerControl.destination")
	}
	c.Close = r.boolean()
	c.ConsumerID = readNested[*ConsumerID](r, "ConsumerControl.consumerId")
	c.Prefetch = r.i32()
	if r.version == 1 {
		return
	}
	c.Flush = r.boolean()
	c.Start = r.boolean()
	c.Stop = r.boolean()
}

// ConnectionControl (type 18) steers a failover client.
type ConnectionControl struct {
	CommandHeader
	Close               bool
	Exit                bool
	FaultTolerant       bool
	Resume              bool
	Suspend             bool
	ConnectedBrokers    string
	ReconnectTo         string
	RebalanceConnection bool
	Token               []byte
}

func (*ConnectionControl) DataType() byte { return TypeConnectionControl }
func (c *ConnectionControl) marshal(w *writer) {
	c.marshalHeader(w)
	w.boolean(c.Close)
	w.boolean(c.Exit)
	w.boolean(c.FaultTolerant)
	w.boolean(c.Resume)
	w.boolean(c.Suspend)
	if w.version == 1 {
		return
	}
	w.str(c.ConnectedBrokers)
	w.str(c.ReconnectTo)
	w.boolean(c.RebalanceConnection)
	w.bytes(c.Token)
}
func (c *ConnectionControl) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.Close = r.boolean()
	c.Exit = r.boolean()
	c.FaultTolerant = r.boolean()
	c.Resume = r.boolean()
	c.Suspend = r.boolean()
	if r.version == 1 {
		return
	}
	c.ConnectedBrokers = r.str()
	c.ReconnectTo = r.str()
	c.RebalanceConnection = r.boolean()
	c.Token = r.bytes()
}

// ProducerAck (type 19) grants producer flow-control credit.
type ProducerAck struct {
	CommandHeader
	ProducerID *ProducerID
	Size       int32
}

func (*ProducerAck) DataType() byte { return TypeProducerAck }
func (c *ProducerAck) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ProducerID)
	w.i32(c.Size)
}
func (c *ProducerAck) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ProducerID = readNested[*ProducerID](r, "ProducerAck.producerId")
	c.Size = r.i32()
}

// MessagePull (type 20) asks for one message for a prefetch-0 consumer.
// Timeout: 0 = wait forever, >0 = milliseconds, -1 = no wait.
type MessagePull struct {
	CommandHeader
	ConsumerID    *ConsumerID
	Destination   *Destination
	Timeout       int64
	CorrelationID string
	MessageID     *MessageID
}

func (*MessagePull) DataType() byte { return TypeMessagePull }
func (c *MessagePull) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConsumerID)
	w.nested(c.Destination)
	w.i64(c.Timeout)
	w.str(c.CorrelationID)
	w.nested(c.MessageID)
}
func (c *MessagePull) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConsumerID = readNested[*ConsumerID](r, "MessagePull.consumerId")
	c.Destination = readDestination(r, "MessagePull.destination")
	c.Timeout = r.i64()
	c.CorrelationID = r.str()
	c.MessageID = readNested[*MessageID](r, "MessagePull.messageId")
}

// MessageDispatch (type 21) delivers a message to a consumer. A nil Message
// ends a browse or answers a MessagePull that timed out.
type MessageDispatch struct {
	CommandHeader
	ConsumerID        *ConsumerID
	Destination       *Destination
	Message           *Message
	RedeliveryCounter int32
}

func (*MessageDispatch) DataType() byte { return TypeMessageDispatch }
func (c *MessageDispatch) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConsumerID)
	w.nested(c.Destination)
	w.nested(c.Message)
	w.i32(c.RedeliveryCounter)
}
func (c *MessageDispatch) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConsumerID = readNested[*ConsumerID](r, "MessageDispatch.consumerId")
	c.Destination = readDestination(r, "MessageDispatch.destination")
	c.Message = readNested[*Message](r, "MessageDispatch.message")
	c.RedeliveryCounter = r.i32()
}

// MessageAck types.
const (
	AckDelivered   byte = 0
	AckPoison      byte = 1
	AckStandard    byte = 2
	AckRedelivered byte = 3
	AckIndividual  byte = 4
	AckUnmatched   byte = 5
	AckExpired     byte = 6
)

// MessageAck (type 22) acknowledges a range of dispatched messages.
type MessageAck struct {
	CommandHeader
	Destination    *Destination
	TransactionID  TransactionID
	ConsumerID     *ConsumerID
	AckType        byte // AckDelivered ...
	FirstMessageID *MessageID
	LastMessageID  *MessageID
	MessageCount   int32
	PoisonCause    *Throwable
}

func (*MessageAck) DataType() byte { return TypeMessageAck }
func (c *MessageAck) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.Destination)
	w.nested(c.TransactionID)
	w.nested(c.ConsumerID)
	w.u8(c.AckType)
	w.nested(c.FirstMessageID)
	w.nested(c.LastMessageID)
	w.i32(c.MessageCount)
	if w.version > 1 {
		w.throwable(c.PoisonCause)
	}
}
func (c *MessageAck) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.Destination = readDestination(r, "MessageAck.destination")
	c.TransactionID = readTransactionID(r, "MessageAck.transactionId")
	c.ConsumerID = readNested[*ConsumerID](r, "MessageAck.consumerId")
	c.AckType = r.u8()
	c.FirstMessageID = readNested[*MessageID](r, "MessageAck.firstMessageId")
	c.LastMessageID = readNested[*MessageID](r, "MessageAck.lastMessageId")
	c.MessageCount = r.i32()
	if r.version > 1 {
		c.PoisonCause = r.throwable()
	}
}

// MessageDispatchNotification (type 90) is used between brokers (slaves).
type MessageDispatchNotification struct {
	CommandHeader
	ConsumerID         *ConsumerID
	Destination        *Destination
	DeliverySequenceID int64
	MessageID          *MessageID
}

func (*MessageDispatchNotification) DataType() byte { return TypeMessageDispatchNotification }
func (c *MessageDispatchNotification) marshal(w *writer) {
	c.marshalHeader(w)
	w.nested(c.ConsumerID)
	w.nested(c.Destination)
	w.i64(c.DeliverySequenceID)
	w.nested(c.MessageID)
}
func (c *MessageDispatchNotification) unmarshal(r *reader) {
	c.unmarshalHeader(r)
	c.ConsumerID = readNested[*ConsumerID](r, "MessageDispatchNotification.consumerId")
	c.Destination = readDestination(r, "MessageDispatchNotification.destination")
	c.DeliverySequenceID = r.i64()
	c.MessageID = readNested[*MessageID](r, "MessageDispatchNotification.messageId")
}
