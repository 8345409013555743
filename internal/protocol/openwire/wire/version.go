package wire

// Version-dependent parts of the codec. The field lists of every version are
// written down in the package doc ("Older versions").

// typeInVersion reports whether data type t exists in OpenWire version v
// (the MarshallerFactory of v registers a marshaller for it).
func typeInVersion(t byte, v int) bool {
	if v == 0 {
		v = ProtocolVersion
	}
	switch t {
	case TypeBrokerSubscriptionInfo:
		return v >= 12
	case TypeMessagePull, TypeProducerAck, TypeBlobMessage:
		return v >= 2
	}
	return true
}

// Java defaults of fields that older versions do not carry; decoding such a
// version leaves the field as a Java object created by the unmarshaller
// would have it.
const (
	// lastDeliveredUnknown is RemoveInfo.LAST_DELIVERED_UNKNOWN.
	lastDeliveredUnknown = -2
)
