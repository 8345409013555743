package client

import (
	"strconv"
	"time"
)

// TransportOptions is the typed view of the transport options Pier's client
// honours, with ActiveMQ's defaults for those not written in the URL.
type TransportOptions struct {
	// ConnectionTimeout (connectionTimeout, default 30 s; 0 none) bounds
	// the TCP connect.
	ConnectionTimeout time.Duration
	// SoTimeout (soTimeout, default 0 = none) is the socket read timeout.
	SoTimeout time.Duration
	// SoWriteTimeout (soWriteTimeout, default 0 = none) closes the socket
	// when a write takes longer.
	SoWriteTimeout time.Duration
	// KeepAlive (keepAlive, default false) sets TCP SO_KEEPALIVE.
	KeepAlive bool
	// TCPNoDelay (tcpNoDelay, default false) sets TCP_NODELAY. ActiveMQ
	// leaves Nagle on by default; Go's net package turns it off, so a
	// faithful dialer calls SetNoDelay(TCPNoDelay).
	TCPNoDelay bool
	// UseInactivityMonitor (useInactivityMonitor, default true): false
	// disables inactivity detection entirely.
	UseInactivityMonitor bool
	// UseKeepAlive (useKeepAlive, default true) sends KeepAliveInfo when
	// idle.
	UseKeepAlive bool
	// MaxInactivityDuration (wireFormat.maxInactivityDuration, default 30 s;
	// 0 disables) is offered in WireFormatInfo; the smaller side wins.
	MaxInactivityDuration time.Duration
	// MaxInactivityDurationInitialDelay
	// (wireFormat.maxInactivityDurationInitalDelay, sic; default 10 s).
	MaxInactivityDurationInitialDelay time.Duration
	// MaxFrameSize (wireFormat.maxFrameSize, default math.MaxInt64) bounds
	// frames read, when MaxFrameSizeEnabled (default true).
	MaxFrameSize        int64
	MaxFrameSizeEnabled bool
	// StackTraceEnabled and TCPNoDelayEnabled are offered in WireFormatInfo
	// (wireFormat.stackTraceEnabled, wireFormat.tcpNoDelayEnabled; both
	// default true).
	StackTraceEnabled bool
	TCPNoDelayEnabled bool
	// Version (wireFormat.version, default 12) is the OpenWire version
	// offered.
	Version int
	// VerifyHostName (socket.verifyHostName, ssl:// only, default true):
	// the broker's certificate must name the host dialled. False still
	// verifies its chain (unless Options.TLS.InsecureSkipVerify).
	VerifyHostName bool
}

// Transport returns the typed options of b (call it on URL.Effective(b) so
// that nested.* options count).
func (b BrokerURL) Transport() TransportOptions {
	get := func(name string) string {
		if v, ok := b.Options[name]; ok {
			return v
		}
		return transportOptions[name].def
	}
	num := func(name string) int64 { n, _ := strconv.ParseInt(get(name), 10, 64); return n }
	ms := func(name string) time.Duration { return time.Duration(num(name)) * time.Millisecond }
	on := func(name string) bool { return get(name) == "true" }
	return TransportOptions{
		ConnectionTimeout:                 ms("connectionTimeout"),
		SoTimeout:                         ms("soTimeout"),
		SoWriteTimeout:                    ms("soWriteTimeout"),
		KeepAlive:                         on("keepAlive"),
		TCPNoDelay:                        on("tcpNoDelay"),
		UseInactivityMonitor:              on("useInactivityMonitor"),
		UseKeepAlive:                      on("useKeepAlive"),
		MaxInactivityDuration:             ms("wireFormat.maxInactivityDuration"),
		MaxInactivityDurationInitialDelay: ms("wireFormat.maxInactivityDurationInitalDelay"),
		MaxFrameSize:                      num("wireFormat.maxFrameSize"),
		MaxFrameSizeEnabled:               on("wireFormat.maxFrameSizeEnabled"),
		StackTraceEnabled:                 on("wireFormat.stackTraceEnabled"),
		TCPNoDelayEnabled:                 on("wireFormat.tcpNoDelayEnabled"),
		Version:                           int(num("wireFormat.version")),
		VerifyHostName:                    on("socket.verifyHostName"),
	}
}
