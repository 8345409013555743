package wire

import (
	"errors"
	"fmt"
	"time"
)

// ErrNegotiation: the peer's WireFormatInfo cannot be accepted.
var ErrNegotiation = errors.New("openwire: wire format negotiation failed")

// Magic is the 8-byte WireFormatInfo magic.
const Magic = "ActiveMQ"

// ProtocolVersion is the newest OpenWire version this package speaks, the one
// a broker advertises and the default of Options.Version.
const ProtocolVersion = 12

// WireFormatInfo property keys (the "Inital" typo is Java's).
const (
	PropTightEncodingEnabled             = "TightEncodingEnabled"
	PropCacheEnabled                     = "CacheEnabled"
	PropSizePrefixDisabled               = "SizePrefixDisabled"
	PropStackTraceEnabled                = "StackTraceEnabled"
	PropTCPNoDelayEnabled                = "TcpNoDelayEnabled"
	PropMaxFrameSizeEnabled              = "MaxFrameSizeEnabled"
	PropCacheSize                        = "CacheSize"                        // int32
	PropMaxInactivityDuration            = "MaxInactivityDuration"            // int64 ms
	PropMaxInactivityDurationInitalDelay = "MaxInactivityDurationInitalDelay" // int64 ms
	PropMaxFrameSize                     = "MaxFrameSize"                     // int64
	PropHost                             = "Host"
	PropProviderName                     = "ProviderName"
	PropProviderVersion                  = "ProviderVersion"
	PropPlatformDetails                  = "PlatformDetails"
)

// WireFormatInfo (type 1) is the first frame in each direction. It has no
// BaseCommand prefix. Properties holds the marshalled property map decoded
// (nil when the peer sent none); use the typed accessors, which apply the
// Java types the client casts to.
type WireFormatInfo struct {
	Magic      [8]byte
	Version    int32
	Properties map[string]any
}

func (*WireFormatInfo) DataType() byte { return TypeWireFormatInfo }

// Valid reports whether the magic is "ActiveMQ".
func (c *WireFormatInfo) Valid() bool { return string(c.Magic[:]) == Magic }

func (c *WireFormatInfo) marshal(w *writer) {
	w.raw(c.Magic[:])
	w.i32(c.Version)
	if c.Properties == nil {
		w.u8(0)
		return
	}
	w.u8(1)
	at := len(w.buf)
	w.i32(0) // length, patched below
	w.primitiveMap(c.Properties)
	n := len(w.buf) - at - 4
	w.buf[at], w.buf[at+1], w.buf[at+2], w.buf[at+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func (c *WireFormatInfo) unmarshal(r *reader) {
	copy(c.Magic[:], r.take(8, "magic"))
	c.Version = r.i32()
	props := r.bytes()
	if r.err != nil || props == nil {
		return
	}
	sub := &reader{buf: props, maxDepth: r.maxDepth - r.depth}
	c.Properties = sub.primitiveMap(MaxWireFormatProperties)
	if sub.err == nil && sub.remaining() > 0 {
		sub.fail("%d trailing bytes", sub.remaining())
	}
	if sub.err != nil {
		r.fail("WireFormatInfo.properties: %v", sub.err)
	}
}

// Bool returns a boolean property as the Java client reads it
// (Boolean.TRUE == value): anything but a true bool is false.
func (c *WireFormatInfo) Bool(key string) bool {
	v, _ := c.Properties[key].(bool)
	return v
}

// Int32 returns an int32 property, 0 if absent or of another type.
func (c *WireFormatInfo) Int32(key string) int32 {
	v, _ := c.Properties[key].(int32)
	return v
}

// Int64 returns an int64 property, 0 if absent or of another type.
func (c *WireFormatInfo) Int64(key string) int64 {
	v, _ := c.Properties[key].(int64)
	return v
}

// String returns a string property, "" if absent.
func (c *WireFormatInfo) String(key string) string {
	v, _ := c.Properties[key].(string)
	return v
}

func (c *WireFormatInfo) set(key string, v any) {
	if c.Properties == nil {
		c.Properties = make(map[string]any)
	}
	c.Properties[key] = v
}

// SetBool sets a boolean property (type code 1).
func (c *WireFormatInfo) SetBool(key string, v bool) { c.set(key, v) }

// SetInt32 sets an int32 property (type code 5), e.g. CacheSize.
func (c *WireFormatInfo) SetInt32(key string, v int32) { c.set(key, v) }

// SetInt64 sets an int64 property (type code 6), e.g. MaxInactivityDuration.
func (c *WireFormatInfo) SetInt64(key string, v int64) { c.set(key, v) }

// SetString sets a string property (type code 9).
func (c *WireFormatInfo) SetString(key string, v string) { c.set(key, v) }

// BrokerWireFormatConfig is what a broker chooses to advertise.
type BrokerWireFormatConfig struct {
	MaxInactivityDuration     time.Duration // 0 disables the client's inactivity monitor
	MaxInactivityInitialDelay time.Duration
	MaxFrameSize              int64 // 0 = unlimited on the Java side
	ProviderName              string
	ProviderVersion           string
}

// NewBrokerWireFormat returns the recommended broker WireFormatInfo: version
// 12, loose encoding, no cache, size prefix on, no stack traces, TCP no-delay.
func NewBrokerWireFormat(cfg BrokerWireFormatConfig) *WireFormatInfo {
	w := &WireFormatInfo{Version: ProtocolVersion}
	copy(w.Magic[:], Magic)
	w.SetBool(PropTightEncodingEnabled, false)
	w.SetBool(PropCacheEnabled, false)
	w.SetBool(PropSizePrefixDisabled, false)
	w.SetBool(PropStackTraceEnabled, false)
	w.SetBool(PropTCPNoDelayEnabled, true)
	w.SetInt32(PropCacheSize, 0)
	w.SetInt64(PropMaxInactivityDuration, cfg.MaxInactivityDuration.Milliseconds())
	w.SetInt64(PropMaxInactivityDurationInitalDelay, cfg.MaxInactivityInitialDelay.Milliseconds())
	w.SetInt64(PropMaxFrameSize, cfg.MaxFrameSize)
	if cfg.ProviderName != "" {
		w.SetString(PropProviderName, cfg.ProviderName)
	}
	if cfg.ProviderVersion != "" {
		w.SetString(PropProviderVersion, cfg.ProviderVersion)
	}
	return w
}

// Negotiated is the outcome of WireFormatInfo negotiation, computed as
// OpenWireFormat.renegotiateWireFormat and InactivityMonitor do.
type Negotiated struct {
	Version            int32
	TightEncoding      bool
	Cache              bool
	CacheSize          int32 // only meaningful if Cache
	SizePrefixDisabled bool
	StackTrace         bool
	TCPNoDelay         bool
	MaxFrameSize       int64 // 0 = no limit
	// MaxInactivityDuration is the read-check interval (plain minimum, so 0 on
	// either side disables monitoring); InitialDelay likewise.
	MaxInactivityDuration time.Duration
	InitialDelay          time.Duration
}

// Negotiate combines the local (our advertised) and remote WireFormatInfo.
// It fails if the remote magic is invalid or the version is not positive.
// It does not reject tight encoding, caching or unsupported versions: this
// package only implements loose encoding of versions 1, 9, 10, 11 and 12
// (VersionSupported), so callers must check the result.
func Negotiate(local, remote *WireFormatInfo) (Negotiated, error) {
	if !remote.Valid() {
		return Negotiated{}, fmt.Errorf("%w: remote wire format magic is invalid", ErrNegotiation)
	}
	n := Negotiated{
		Version:            int32(minPositive(int64(local.Version), int64(remote.Version))),
		TightEncoding:      local.Bool(PropTightEncodingEnabled) && remote.Bool(PropTightEncodingEnabled),
		Cache:              local.Bool(PropCacheEnabled) && remote.Bool(PropCacheEnabled),
		SizePrefixDisabled: local.Bool(PropSizePrefixDisabled) && remote.Bool(PropSizePrefixDisabled),
		StackTrace:         local.Bool(PropStackTraceEnabled) && remote.Bool(PropStackTraceEnabled),
		TCPNoDelay:         local.Bool(PropTCPNoDelayEnabled) && remote.Bool(PropTCPNoDelayEnabled),
		MaxFrameSize:       minPositive(local.Int64(PropMaxFrameSize), remote.Int64(PropMaxFrameSize)),
		MaxInactivityDuration: time.Duration(min(local.Int64(PropMaxInactivityDuration),
			remote.Int64(PropMaxInactivityDuration))) * time.Millisecond,
		InitialDelay: time.Duration(min(local.Int64(PropMaxInactivityDurationInitalDelay),
			remote.Int64(PropMaxInactivityDurationInitalDelay))) * time.Millisecond,
	}
	if n.Version <= 0 {
		return Negotiated{}, fmt.Errorf("%w: no usable version (local %d, remote %d)",
			ErrNegotiation, local.Version, remote.Version)
	}
	if n.Cache {
		n.CacheSize = min(local.Int32(PropCacheSize), remote.Int32(PropCacheSize))
	}
	return n, nil
}

// minPositive is the minimum where a value <= 0 means "take the other".
func minPositive(a, b int64) int64 {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
