// Package client is Pier's Go client: it speaks OpenWire, the protocol of
// the ActiveMQ 5.x JMS client, to Pier and to Apache ActiveMQ alike, and
// behaves on the wire as the 5.17 Java client does.
//
//	conn, err := client.Dial(ctx, "tcp://localhost:61616", client.Options{ClientID: "app"})
//	sess, err := conn.Session(ctx, client.AutoAck)
//	prod, err := sess.Producer(ctx, client.Queue("orders"))
//	err = prod.Send(ctx, client.NewTextMessage("hello"))
//	cons, err := sess.Consumer(ctx, client.Queue("orders"))
//	msg, err := cons.Receive(ctx)
//
// A Conn holds sessions (AutoAck, ClientAck, DupsOKAck, IndividualAck,
// Transacted); a Session creates producers, consumers and browsers.
// Persistent sends wait for the broker; non-persistent and transacted ones
// do not. Errors wrap sentinels (ErrClosed, ErrConnectionLost, ...), and a
// broker's refusal is a *BrokerError that matches ErrInvalidClientID,
// ErrInvalidDestination, ErrInvalidSelector, ErrTransactionRolledBack, ...
//
// # Design
//
// Three layers, each replaceable under the one above, so that failover
// (reconnecting with state replay, built later on top) needs no change to
// the API types:
//
//   - transport (transport.go): one negotiated socket. dialTCP(ctx,
//     "host:port", opts) connects, sends the client's WireFormatInfo
//     (version 12, loose, no cache), reads the broker's, and sets the
//     codec to the negotiated version. start runs its two goroutines, the
//     read loop (answers KeepAliveInfo, applies the read check: no bytes
//     for the negotiated MaxInactivityDuration ends the socket) and the
//     keep-alive writer (KeepAliveInfo when nothing was written for a
//     third of it); close stops and awaits both. send writes one command
//     (serialized, with a write deadline). Everything read goes to a
//     transportSink: onCommand, and onTransportError exactly once.
//   - Conn (conn.go): the correlator and the state. Command ids come from
//     the Conn (from 1, as Java's ResponseCorrelator above its failover
//     transport), so they survive a change of socket. request registers a
//     pending channel by command id and waits for the Response (an
//     ExceptionResponse becomes a *BrokerError); oneway sends without one.
//     The pending map is Java's failover requestMap: the in-flight
//     synchronous commands (persistent sends, ConsumerInfo, commit, ...)
//     that a new socket must receive again, with the same ids and message
//     ids, so the Response completes the original caller.
//   - tracker (state.go): every outgoing command passes through track,
//     which keeps what ActiveMQ's ConnectionStateTracker keeps — the
//     ConnectionInfo, temporary destinations (DestinationInfo ADD), each
//     session's SessionInfo, ProducerInfos and ConsumerInfos (including
//     the advisory consumer of session -1), and each open local
//     transaction's BEGIN and sends — and forgets it on RemoveInfo,
//     ROLLBACK and answered commits. replay returns, in
//     ConnectionStateTracker.restore's order, the commands for a new
//     socket: ConnectionInfo with failoverReconnect=true, temp
//     destinations, sessions with producers and consumers, open
//     transactions; a transaction whose commit was in flight is returned
//     as in doubt, to be failed with ErrTransactionRolledBack.
//
// What failover adds: a loop that dials (dialTCP) the URIs of a
// failover:(...) URL with back-off, starts the new transport with the
// Conn as sink, sends ConnectionControl, tracker.replay and then the
// pending requests; consumers drop their prefetched messages (the broker
// redelivers everything unacknowledged); oneway calls wait while no socket
// is up, except acks and RemoveInfo, which are dropped as Java does.
//
// Goroutines: only the transport's two. Consumers are fed by the read loop
// (a queue per consumer, never blocking it); Receive runs on the caller's
// goroutine. Close (Conn) waits for both goroutines.
//
// Lock order: Session.mu, Consumer.mu, Conn.mu, tracker.mu, then the
// transport's write lock. The read loop takes only Consumer.mu and Conn.mu,
// so a Session may hold its lock while waiting for a Response.
package client
