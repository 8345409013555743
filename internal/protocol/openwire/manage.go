package openwire

import (
	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// CloseFromBroker implements broker.Closer: the management interface
// closes the connection. As ActiveMQ's TransportConnection does when an
// administrator stops a connection, the client gets a ShutdownInfo, then
// the socket is closed (a failover client reconnects).
func (c *conn) CloseFromBroker(reason string) {
	c.log.Info("connection closed by the broker", "reason", reason)
	c.out.PushLast(&wire.ShutdownInfo{}, c.srv.cfg.WriteTimeout)
	c.Shutdown()
}

// addProducer records a producer (read loop only) and counts it in the
// broker (DestInfo.Producers, ConnInfo.Producers).
func (c *conn) addProducer(p *wire.ProducerInfo) {
	key := p.ProducerID.String()
	if _, dup := c.producers[key]; dup {
		c.producers[key] = p
		return
	}
	c.producers[key] = p
	c.bc.ProducerOpened(producerDest(p))
}

// removeProducer forgets a producer (read loop only).
func (c *conn) removeProducer(key string) {
	if p, ok := c.producers[key]; ok {
		delete(c.producers, key)
		c.bc.ProducerClosed(producerDest(p))
	}
}

// removeSessionProducers forgets the producers of a closed session (the
// JMS client sends no RemoveInfo for them).
func (c *conn) removeSessionProducers(id *wire.SessionID) {
	for key, p := range c.producers {
		if p.ProducerID.ConnectionID == id.ConnectionID && p.ProducerID.SessionID == id.Value {
			c.removeProducer(key)
		}
	}
}

// producerDest is the destination a producer named; zero for an
// anonymous producer.
func producerDest(p *wire.ProducerInfo) message.Destination {
	if p.Destination == nil {
		return message.Destination{}
	}
	d, err := destToCore(p.Destination)
	if err != nil {
		return message.Destination{}
	}
	return d
}
