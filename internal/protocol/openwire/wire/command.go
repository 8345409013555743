package wire

// DataStructure is any OpenWire object with a type id: commands, ids,
// destinations. The marshalling methods are unexported, so the set of
// implementations is closed to this package.
type DataStructure interface {
	DataType() byte
	marshal(w *writer)
	unmarshal(r *reader)
}

// Command is what a frame carries. Every DataStructure can be framed;
// WireFormatInfo is the one command that is not a BaseCommand.
type Command = DataStructure

// BaseCommand is implemented by every command with the commandId and
// responseRequired prefix (types 2–34, 90, 92).
type BaseCommand interface {
	Command
	CommandID() int32
	SetCommandID(int32)
	ResponseRequired() bool
	SetResponseRequired(bool)
}

// CommandHeader is the BaseCommand prefix, embedded in every BaseCommand.
type CommandHeader struct {
	ID            int32 // commandId
	NeedsResponse bool  // responseRequired
}

// CommandID returns the command id.
func (h *CommandHeader) CommandID() int32 { return h.ID }

// SetCommandID sets the command id.
func (h *CommandHeader) SetCommandID(id int32) { h.ID = id }

// ResponseRequired reports whether the sender expects a Response.
func (h *CommandHeader) ResponseRequired() bool { return h.NeedsResponse }

// SetResponseRequired sets the responseRequired flag.
func (h *CommandHeader) SetResponseRequired(v bool) { h.NeedsResponse = v }

func (h *CommandHeader) marshalHeader(w *writer) {
	w.i32(h.ID)
	w.boolean(h.NeedsResponse)
}

func (h *CommandHeader) unmarshalHeader(r *reader) {
	h.ID = r.i32()
	h.NeedsResponse = r.boolean()
}

// Command type ids (CommandTypes.java).
const (
	TypeNull                        byte = 0
	TypeWireFormatInfo              byte = 1
	TypeBrokerInfo                  byte = 2
	TypeConnectionInfo              byte = 3
	TypeSessionInfo                 byte = 4
	TypeConsumerInfo                byte = 5
	TypeProducerInfo                byte = 6
	TypeTransactionInfo             byte = 7
	TypeDestinationInfo             byte = 8
	TypeRemoveSubscriptionInfo      byte = 9
	TypeKeepAliveInfo               byte = 10
	TypeShutdownInfo                byte = 11
	TypeRemoveInfo                  byte = 12
	TypeControlCommand              byte = 14
	TypeFlushCommand                byte = 15
	TypeConnectionError             byte = 16
	TypeConsumerControl             byte = 17
	TypeConnectionControl           byte = 18
	TypeProducerAck                 byte = 19
	TypeMessagePull                 byte = 20
	TypeMessageDispatch             byte = 21
	TypeMessageAck                  byte = 22
	TypeMessage                     byte = 23
	TypeBytesMessage                byte = 24
	TypeMapMessage                  byte = 25
	TypeObjectMessage               byte = 26
	TypeStreamMessage               byte = 27
	TypeTextMessage                 byte = 28
	TypeBlobMessage                 byte = 29
	TypeResponse                    byte = 30
	TypeExceptionResponse           byte = 31
	TypeDataResponse                byte = 32
	TypeDataArrayResponse           byte = 33
	TypeIntegerResponse             byte = 34
	TypeSubscriptionInfo            byte = 55
	TypeMessageDispatchNotification byte = 90
	TypeNetworkBridgeFilter         byte = 91
	TypeBrokerSubscriptionInfo      byte = 92
)

// knownTypes[t] says whether newDataStructure makes type t: the check of
// every object written, without making one each time. It is never changed.
var knownTypes = func() (known [256]bool) {
	for t := range known {
		known[t] = newDataStructure(byte(t)) != nil
	}
	return known
}()

// newDataStructure returns a zero value for type t, or nil if the type is not
// supported.
func newDataStructure(t byte) DataStructure {
	switch t {
	case TypeWireFormatInfo:
		return &WireFormatInfo{}
	case TypeBrokerInfo:
		return &BrokerInfo{}
	case TypeConnectionInfo:
		return &ConnectionInfo{}
	case TypeSessionInfo:
		return &SessionInfo{}
	case TypeConsumerInfo:
		return &ConsumerInfo{}
	case TypeProducerInfo:
		return &ProducerInfo{}
	case TypeTransactionInfo:
		return &TransactionInfo{}
	case TypeDestinationInfo:
		return &DestinationInfo{}
	case TypeRemoveSubscriptionInfo:
		return &RemoveSubscriptionInfo{}
	case TypeKeepAliveInfo:
		return &KeepAliveInfo{}
	case TypeShutdownInfo:
		return &ShutdownInfo{}
	case TypeRemoveInfo:
		return &RemoveInfo{}
	case TypeControlCommand:
		return &ControlCommand{}
	case TypeFlushCommand:
		return &FlushCommand{}
	case TypeConnectionError:
		return &ConnectionError{}
	case TypeConsumerControl:
		return &ConsumerControl{}
	case TypeConnectionControl:
		return &ConnectionControl{}
	case TypeProducerAck:
		return &ProducerAck{}
	case TypeMessagePull:
		return &MessagePull{}
	case TypeMessageDispatch:
		return &MessageDispatch{}
	case TypeMessageAck:
		return &MessageAck{}
	case TypeMessage, TypeBytesMessage, TypeMapMessage, TypeObjectMessage,
		TypeStreamMessage, TypeTextMessage, TypeBlobMessage:
		return &Message{Type: t}
	case TypeResponse:
		return &Response{}
	case TypeExceptionResponse:
		return &ExceptionResponse{}
	case TypeDataResponse:
		return &DataResponse{}
	case TypeDataArrayResponse:
		return &DataArrayResponse{}
	case TypeIntegerResponse:
		return &IntegerResponse{}
	case TypeSubscriptionInfo:
		return &SubscriptionInfo{}
	case TypeMessageDispatchNotification:
		return &MessageDispatchNotification{}
	case TypeNetworkBridgeFilter:
		return &NetworkBridgeFilter{}
	case TypeBrokerSubscriptionInfo:
		return &BrokerSubscriptionInfo{}
	case TypeQueue, TypeTopic, TypeTempQueue, TypeTempTopic:
		return &Destination{Type: t}
	case TypeMessageID:
		return &MessageID{}
	case TypeLocalTransactionID:
		return &LocalTransactionID{}
	case TypeXATransactionID:
		return &XATransactionID{}
	case TypeConnectionID:
		return &ConnectionID{}
	case TypeSessionID:
		return &SessionID{}
	case TypeConsumerID:
		return &ConsumerID{}
	case TypeProducerID:
		return &ProducerID{}
	case TypeBrokerID:
		return &BrokerID{}
	}
	return nil
}
