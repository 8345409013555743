package network

import (
	"errors"
	"fmt"
	"time"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// errCannotForward marks a stored message that has no form on the remote
// broker (a temporary destination, a body that does not decode).
var errCannotForward = errors.New("network: message cannot be forwarded")

// toClient builds the client message that forwards m, and its destination.
func toClient(m *message.Message) (*client.Message, *client.Destination, error) {
	var dest *client.Destination
	switch m.Dest.Kind {
	case message.Queue:
		dest = client.Queue(m.Dest.Name)
	case message.Topic:
		dest = client.Topic(m.Dest.Name)
	case message.TempQueue, message.TempTopic: // a reply to a remote requester
		dest = client.ParseDestination(m.Dest.String())
	default:
		return nil, nil, fmt.Errorf("%w: destination %v", errCannotForward, m.Dest)
	}
	cm, err := body(m)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errCannotForward, err)
	}
	for k, v := range m.Properties {
		if err := cm.SetProperty(k, v); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errCannotForward, err)
		}
	}
	if !m.ReplyTo.IsZero() {
		cm.ReplyTo = client.ParseDestination(m.ReplyTo.String())
	}
	cm.CorrelationID, cm.Type = m.CorrelationID, m.Type
	cm.Priority, cm.Persistent = int(m.Priority), m.Persistent
	cm.GroupID, cm.GroupSeq = m.GroupID, int(m.GroupSeq)
	cm.BrokerPath = m.BrokerPath
	if m.Timestamp > 0 {
		cm.Timestamp = time.UnixMilli(m.Timestamp)
	}
	if m.Expiration > 0 {
		cm.Expiration = time.UnixMilli(m.Expiration)
	}
	return cm, dest, nil
}

// body makes a client message of m's kind with its body. The core keeps
// map and stream bodies in OpenWire's encoding.
func body(m *message.Message) (*client.Message, error) {
	switch m.BodyKind {
	case message.Plain:
		return client.NewMessage(), nil
	case message.Text: // a null text arrives as an empty one
		return client.NewTextMessage(string(m.Body)), nil
	case message.Bytes:
		return client.NewBytesMessage(m.Body), nil
	case message.Object:
		return client.NewObjectMessage(m.Body), nil
	case message.Map:
		v, err := wire.DecodeMap(m.Body)
		if err != nil {
			return nil, fmt.Errorf("map body: %w", err)
		}
		return client.NewMapMessage(v), nil
	case message.Stream:
		v, err := wire.DecodeStream(m.Body)
		if err != nil {
			return nil, fmt.Errorf("stream body: %w", err)
		}
		return client.NewStreamMessage(v), nil
	}
	return nil, fmt.Errorf("body kind %v", m.BodyKind)
}
