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
// # TLS and credentials
//
// ssl://host:port (and nio+ssl://) is OpenWire over TLS, as in ActiveMQ;
// it may be used wherever tcp:// is, inside failover:(...) too, and in the
// broker lists a broker pushes. Options.TLS says what to trust and which
// client certificate to present (nil: the system's roots, none); each
// broker's certificate must name the host dialled unless its URI says
// socket.verifyHostName=false. When every broker of a failover URL uses
// TLS, brokers without it that a broker pushes are ignored, so the
// connection never falls back to plain TCP.
//
// Options.Username and Password (jms.userName, jms.password in ActiveMQ
// URLs; Dial itself does not read jms.* options) go in the ConnectionInfo.
// A broker that refuses them answers with a SecurityException: Dial fails
// with a *BrokerError carrying the broker's message that matches
// ErrSecurity, as does a refused send or subscription (a refused
// non-persistent send is reported to Options.OnAsyncError). A failover
// connection whose credentials are refused when it reconnects ends,
// with an error matching ErrSecurity and ErrConnectionLost, instead of
// reconnecting.
//
// # Advisories
//
// Brokers publish advisories about themselves on topics named
// ActiveMQ.Advisory.*; ActiveMQ and Pier both do. A consumer advisory, on
// ConsumerAdvisoryTopic(d), announces each consumer of d that is added
// (Message.ConsumerInfo) or removed (Message.RemoveInfo), and each durable
// subscription of d deleted (Message.RemoveSubscriptionInfo); a new
// subscriber of a consumer advisory topic first receives a ConsumerInfo
// advisory for every consumer that exists. Consumers of advisory topics
// are not announced. This is how a network bridge learns where the
// consumers of a broker are:
//
//	k, err := sess.Consumer(ctx, client.ConsumerAdvisoryTopic(client.Queue(">")))
//	m, err := k.Receive(ctx)
//	if info, ok := m.ConsumerInfo(); ok { ... info.ConsumerID, info.BrokerPath ... }
//	if gone, ok := m.RemoveInfo(); ok { ... gone.ConsumerID ... }
//
// Advisories carry the properties consumerCount (int32: the consumers of
// the destination after the change), originBrokerName, originBrokerId and
// (from ActiveMQ, or from a Pier that knows its URL) originBrokerURL. A
// bridge subscribes with the options Network, BrokerPath and
// ConsumerPriority, sets Message.BrokerPath on what it forwards, and puts
// Conn.BrokerID in paths.
//
// # Design
//
// Three layers, each replaceable under the one above, so that failover
// (reconnecting with state replay, see Failover) needs no change to the
// API types:
//
//   - transport (transport.go): one negotiated socket. dialBroker(ctx,
//     broker, opts) connects (over TLS for ssl://, tls.go), sends the
//     client's WireFormatInfo (version 12, loose, no cache), reads the
//     broker's, and sets the codec to the negotiated version. start runs its two goroutines, the
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
// # Failover
//
// Dial takes any URL ParseURL accepts. A tcp:// or ssl:// URL (or a bare
// host:port, which is tcp://) is one socket: when it fails the Conn ends (Done, Err wraps
// ErrConnectionLost), as ActiveMQ's plain tcp transport. A
// failover:(uri,...)?options URL (failover.go, failover_send.go) behaves
// as ActiveMQ's FailoverTransport:
//
//   - Dial tries the brokers in connectOrder (randomize, brokers pushed by
//     the broker first), pass after pass with the back-off of backoff.go,
//     at most startupMaxReconnectAttempts passes; then ErrConnectionLost
//     wrapping the last dial error.
//   - When the socket is lost: OnInterrupted(err) is called; consumers drop
//     their prefetched and delivered-but-unacknowledged messages (the
//     broker redelivers them to the restored consumer, marked
//     redelivered); a transacted session that had consumed messages in its
//     open transaction becomes rollback-only. The connection waits
//     initialReconnectDelay and reconnects with the back-off, at most
//     maxReconnectAttempts passes (0: not at all).
//   - On the new socket, before anything else: ConnectionControl
//     {faultTolerant}, then the tracker's replay — ConnectionInfo with
//     failoverReconnect=true and the same ConnectionId (the broker drops
//     the stale connection), temporary destinations, sessions, producers,
//     consumers (durable subscriptions included) and the temporary
//     destination advisory consumer, each open transaction's BEGIN and
//     sends — then every synchronous request still awaiting its Response
//     (persistent sends keep their MessageId, so the broker's
//     producer-sequence duplicate detection stores them once), all with
//     their original command ids, so the Responses complete the waiting
//     callers. Then OnResumed(host:port) is called. Both hooks are called
//     once per outage.
//   - Duplicates: a message the application already consumed (auto-acked,
//     acknowledged or committed) whose acknowledgement was lost with the
//     old socket comes back from the broker; the connection's audit
//     (audit.go, like Java's checkForDuplicates) acknowledges and drops it.
//   - Transactions: a transaction whose sends were tracked goes on and may
//     commit. One that had consumed messages is rolled back at its Commit,
//     which returns ErrTransactionRolledBack (Java's "rollback only ...
//     failover with pending acks"); one whose commit was in flight gets
//     ErrTransactionRolledBack ("completion in doubt"): its outcome at
//     the broker is unknown.
//   - While no socket is up, calls wait for one, bounded by their ctx and
//     by the failover timeout option (then the error matches
//     ErrFailoverTimeout and ErrConnectionLost; the connection goes on
//     reconnecting). Acknowledgements, RemoveInfo and ShutdownInfo are not
//     sent while down (Close answers itself), and commands the replay
//     carries (sessions, BEGIN, transacted sends) return at once.
//     Non-persistent sends written to a socket that then failed are lost,
//     as in Java (trackMessages is not supported).
//   - When maxReconnectAttempts passes have failed, the Conn ends: every
//     waiting call and Err return ErrConnectionLost wrapping the last dial
//     error.
//   - ConnectionControl from the broker: connectedBrokers (a broker's
//     updateClusterClients list, which Pier's openwire Config.ClusterURLs
//     sends too; its updates go only to connections whose ConnectionInfo
//     says faultTolerant, as a failover Conn's does) replaces the
//     broker-pushed list (updateURIsSupported), and with
//     rebalanceConnection moves the connection unless it is on the first
//     of them; reconnectTo adds that broker and moves the connection to it
//     (reconnectSupported). Java rebalances to the first broker of its
//     shuffled list; this client moves to the broker named.
//
// Options honoured: initialReconnectDelay, maxReconnectDelay,
// useExponentialBackOff, reconnectDelayExponent, maxReconnectAttempts,
// startupMaxReconnectAttempts, randomize, timeout, updateURIsSupported,
// reconnectSupported, warnAfterReconnectAttempts. Not honoured (Dial logs
// a warning for each set to a value that matters, from URL.Unsupported):
// backup, backupPoolSize, trackMessages, maxCacheSize,
// trackTransactionProducers, updateURIsURL, rebalanceUpdateURIs,
// reconnectDelay, and priorityBackup/priorityURIs (warned separately).
// Dial does not yet apply a URL's transport options (connectionTimeout,
// wireFormat.*, ...) or jms.* options: Options governs every socket.
//
// Goroutines: each socket's two (transport), and for a failover Conn one
// more, the failover goroutine (failover.run), which alone dials, closes
// lost sockets, interrupts consumers, restores and calls the hooks.
// Consumers are fed by the read loop (a queue per consumer, never
// blocking it); Receive runs on the caller's goroutine. Close (Conn)
// stops the failover goroutine and waits for every goroutine.
//
// Lock order: Session.mu, Consumer.mu, Conn.mu, tracker.mu, then the
// transport's write lock; failover.mu is never held with another lock. The read loop takes only Consumer.mu and Conn.mu,
// so a Session may hold its lock while waiting for a Response.
package client
