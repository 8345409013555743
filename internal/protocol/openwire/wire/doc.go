// Package wire is the OpenWire codec: the frames an ActiveMQ 5.x Java client
// (5.17) and a broker exchange, in LOOSE encoding without the marshal cache,
// in the versions such a client can negotiate: 1, 9, 10, 11 and 12
// (Options.Version, Decoder.SetVersion, Encoder.SetVersion; default 12). It
// does no network I/O beyond an io.Reader/io.Writer and knows nothing about
// brokers; internal/protocol/openwire adapts it.
//
// A broker advertises TightEncodingEnabled=false and CacheEnabled=false
// (NewBrokerWireFormat); the client's own WireFormatInfo is always loose, and
// after Negotiate both directions stay loose. Tight encoding and the cache
// are not implemented: a caller whose Negotiated.TightEncoding or .Cache is
// true must refuse the connection.
//
// # API
//
//   - Decoder.Decode reads one size-prefixed frame and returns a Command
//     (nil for a null frame); Encoder.Encode, Marshal and AppendFrame write
//     one. Unmarshal decodes a frame held in memory.
//   - Every command and data structure is a struct (ConnectionInfo,
//     ConsumerInfo, Message, ConsumerID, Destination, ...). BaseCommands embed
//     CommandHeader (commandId, responseRequired). Message covers types 23–29
//     and keeps Content and MarshalledProperties in wire form; Properties,
//     Text, Body, DecodeMap and DecodeStream decode them.
//   - MarshalPrimitiveMap/UnmarshalPrimitiveMap convert primitive maps to
//     map[string]any with Go values bool, int8 (byte), uint16 (char), int16,
//     int32, int64, float32, float64, string, []byte, map[string]any, []any
//     and nil. Strings are written with code 9 below 8191 UTF-16 units and
//     code 13 from there, as Java does.
//   - Every string is Java modified UTF-8 (C0 80 for NUL, surrogate pairs as
//     two 3-byte sequences): AppendModifiedUTF8, DecodeModifiedUTF8.
//   - Errors wrap ErrFrameTooLarge, ErrMalformed (*MalformedError with the
//     offset), ErrUnknownType (*UnknownTypeError), ErrInvalidValue or
//     ErrNegotiation. Decoding checks every length and count against the
//     frame before allocating for it, bounds nesting (Options.MaxDepth),
//     reserves room for at most a few elements of a declared count (the
//     rest grows as elements arrive), reads a large frame as its bytes
//     arrive, and never panics (FuzzDecode, hardening_test.go).
//
// Nullable strings decode null as "" and encode "" as null; the 5.17 client
// never sends an empty non-null string in the frames we captured
// (testdata/golden). Nil slices and byte arrays encode as null, empty ones
// as present with length 0.
//
// # Field reference (loose, v12)
//
// Frame: int32 size (type byte + body) | type byte | body. Type 0 = null.
// BaseCommand prefix: int32 commandId, bool responseRequired.
// S string = bool notNull [uint16 len, modified UTF-8]; BS bytes = bool
// notNull [int32 len, bytes]; N/C nested or cached (cache off) object = bool
// notNull [type byte, body]; A array = bool notNull [int16 count, count×N];
// T throwable = bool notNull [S class, S message, and only with
// StackTraceEnabled: int16 n, n×(S class, S method, S file, int32 line),
// T cause].
//
//	 1 WireFormatInfo  (no prefix) 8 bytes "ActiveMQ", I version, BS properties map
//	 2 BrokerInfo      C brokerId, S brokerURL, A peerBrokerInfos, S brokerName, Z slave, Z master,
//	                   Z faultTolerant, Z duplex, Z network, L connectionId, S uploadUrl, S networkProperties
//	 3 ConnectionInfo  C connectionId, S clientId, S password, S userName, A brokerPath,
//	                   Z brokerMasterConnector, Z manageable, Z clientMaster, Z faultTolerant,
//	                   Z failoverReconnect, S clientIp
//	 4 SessionInfo     C sessionId
//	 5 ConsumerInfo    C consumerId, Z browser, C destination, I prefetch, I maxPending, Z dispatchAsync,
//	                   S selector, S clientId, S subscriptionName, Z noLocal, Z exclusive, Z retroactive,
//	                   B priority, A brokerPath, N additionalPredicate, Z networkSubscription,
//	                   Z optimizedAck, Z noRangeAcks, A networkConsumerPath
//	 6 ProducerInfo    C producerId, C destination, A brokerPath, Z dispatchAsync, I windowSize
//	 7 TransactionInfo C connectionId, C transactionId, B type
//	 8 DestinationInfo C connectionId, C destination, B operation, L timeout, A brokerPath
//	 9 RemoveSubscriptionInfo C connectionId, S subscriptionName, S clientId
//	10 KeepAliveInfo, 11 ShutdownInfo, 15 FlushCommand: prefix only
//	12 RemoveInfo      C objectId, L lastDeliveredSequenceId
//	14 ControlCommand  S command
//	16 ConnectionError T exception, N connectionId
//	17 ConsumerControl N destination, Z close, N consumerId, I prefetch, Z flush, Z start, Z stop
//	18 ConnectionControl Z close, Z exit, Z faultTolerant, Z resume, Z suspend, S connectedBrokers,
//	                   S reconnectTo, Z rebalance, BS token
//	19 ProducerAck     N producerId, I size
//	20 MessagePull     C consumerId, C destination, L timeout, S correlationId, N messageId
//	21 MessageDispatch C consumerId, C destination, N message, I redeliveryCounter
//	22 MessageAck      C destination, C transactionId, C consumerId, B ackType, N first, N last,
//	                   I count, T poisonCause
//	23–29 Message      C producerId, C destination, C txId, C origDestination, N messageId, C origTxId,
//	                   S groupId, I groupSeq, S correlationId, Z persistent, L expiration, B priority,
//	                   N replyTo, L timestamp, S type, BS content, BS properties, N dataStructure,
//	                   C targetConsumerId, Z compressed, I redeliveryCounter, A brokerPath, L arrival,
//	                   S userId, Z receivedByDFBridge, Z droppable, A cluster, L brokerInTime,
//	                   L brokerOutTime, Z groupFirstForConsumer; 29 adds S url, S mimeType, Z deleted
//	30 Response I corr; 31 ExceptionResponse I corr, T; 32 DataResponse I corr, N;
//	33 DataArrayResponse I corr, A; 34 IntegerResponse I corr, I result
//	55 SubscriptionInfo (no prefix) S clientId, C destination, S selector, S name, N subscribedDest, Z noLocal
//	90 MessageDispatchNotification C consumerId, C destination, L deliverySeq, N messageId
//	91 NetworkBridgeFilter (no prefix) C brokerId, I messageTTL, I consumerTTL
//	92 BrokerSubscriptionInfo N brokerId, S brokerName, A subscriptionInfos
//	100–103 Queue/Topic/TempQueue/TempTopic S physicalName
//	110 MessageId S textView, C producerId, L producerSeq, L brokerSeq
//	111 LocalTransactionId L value, C connectionId; 112 XATransactionId I formatId, BS gtid, BS bqual
//	120 ConnectionId S; 121 SessionId S conn, L value; 122 ConsumerId S conn, L session, L value
//	123 ProducerId S conn, L value, L session; 124 BrokerId S
//
// # Older versions
//
// Options.Version selects the field lists; WireFormatInfo reads the same in
// every version. Fields a version lacks are left out when encoding (as Java
// does, silently) and decode as zero values, except where the Java object has
// another default (noted below). A type a version lacks fails to encode and
// decode with an *UnknownTypeError carrying the version. Checked by diffing
// the looseMarshal field order of the v1, v9, v10 and v11 marshallers against
// v12 (ActiveMQ activemq-client/.../openwire/v*), and by the frames the 5.17
// client marshals at each version (testdata/golden/versions).
//
//	v11  as v12, but no type 92 BrokerSubscriptionInfo.
//	v10  as v11, and 55 SubscriptionInfo has no trailing Z noLocal.
//	v9   as v10, and: 5 ConsumerInfo has no S clientId (between selector and
//	     subscriptionName); 110 MessageId has no leading S textView; 23–29
//	     Message has no trailing Z jmsXGroupFirstForConsumer; 91
//	     NetworkBridgeFilter is I networkTTL, C networkBrokerId (the TTL
//	     first; written from MessageTTL, read into MessageTTL and ConsumerTTL).
//	v1   as v9, and: no types 19 ProducerAck, 20 MessagePull, 29 BlobMessage;
//	     2 BrokerInfo ends after faultTolerantConfiguration; 3 ConnectionInfo
//	     ends after manageable (clientMaster decodes as true, the Java
//	     default); 5 ConsumerInfo has no trailing A networkConsumerPath;
//	     6 ProducerInfo ends after brokerPath; 12 RemoveInfo has no
//	     lastDeliveredSequenceId (decodes as -2, unknown); 17 ConsumerControl
//	     has no leading N destination and ends after prefetch;
//	     18 ConnectionControl ends after suspend; 22 MessageAck has no
//	     T poisonCause; 23–28 Message ends after receivedByDFBridge;
//	     55 SubscriptionInfo ends after subscriptionName (no
//	     subscribedDestination).
//
// Two of these were missing from PROTOCOLS.md §3.5: the networkTTL-first
// order of NetworkBridgeFilter in v9 and v1, and SubscriptionInfo's missing
// subscribedDestination in v1. (The v1 and v10 Java marshallers also cut
// throwable messages longer than MAX_EXCEPTION_MESSAGE_SIZE when writing;
// that is not a wire difference and is not reproduced.)
//
// Primitive map: int32 count (-1 = null), count × (uint16-length modified
// UTF-8 key, type code, value) with codes 0 null, 1 bool, 2 byte, 3 char,
// 4 short, 5 int, 6 long, 7 double, 8 float, 9 string, 10 bytes (int32 len),
// 11 map, 12 list (int32 count, tagged values), 13 big string (int32 len).
// Bodies: Text = int32 len + modified UTF-8 (-1 null); Map = primitive map;
// Stream = tagged values back to back; Bytes/Object raw. Compressed bodies
// are zlib; a compressed BytesMessage is prefixed by the int32 uncompressed
// length.
//
// Sources: /work/shared/notes/PROTOCOLS.md part A and the v1, v9–v12
// marshallers of ActiveMQ 5.17, checked against frames captured from the
// 5.17.2 client (testdata/golden/README.md) and frames it marshals at each
// version (testdata/golden/versions/README.md).
package wire
