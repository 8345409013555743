// Package packet is the MQTT wire codec: the control packets of MQTT 3.1.1
// (protocol level 4) and MQTT 5.0 (level 5) as Go values, a decoder that
// reads them from a connection and refuses malformed input with the reason
// code a server answers with, an encoder for both versions, and the topic
// rules (names, filters, shared subscriptions, matching).
//
// It follows the OASIS standards section by section: MQTT 3.1.1 chapters 2
// (fixed header, remaining length), 3 (the fourteen control packets) and
// 4.7 (topics); MQTT 5.0 sections 1.5 (data representation: integers,
// UTF-8 strings, variable byte integers, binary data, string pairs), 2.1
// to 2.4 (fixed header, packet identifiers, properties, reason codes),
// chapter 3 (the fifteen control packets), 4.7 and 4.8.2 (topics, shared
// subscriptions) and 4.13 (handling errors).
//
// The package does no I/O of its own beyond reading one packet from a
// bufio.Reader and writing one to an io.Writer, and keeps no session state:
// what depends on the connection (topic alias ranges, receive maximum,
// the direction a packet may travel in) is the server's to check.
package packet
