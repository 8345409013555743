package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// transportSink receives what a transport's read loop reads. Its methods
// run on the read loop goroutine: they must not block on the network and
// must not call transport.close (which waits for that goroutine).
type transportSink interface {
	onCommand(cmd wire.Command)
	onTransportError(err error)
}

// transport is one negotiated OpenWire socket: framing, wire format
// negotiation and keep-alive (Java's TcpTransport + WireFormatNegotiator +
// InactivityMonitor). It knows nothing of connections, sessions or
// request/response correlation: those live above it, so that a failover
// layer can replace the transport under a Conn and replay its state.
//
// nc is a *tls.Conn for ssl:// brokers.
//
// It owns two goroutines, started by start and awaited by close: the read
// loop, and the keep-alive writer. Writes from any goroutine are
// serialized by wmu.
type transport struct {
	nc         net.Conn
	log        *slog.Logger
	addr       string
	dec        *wire.Decoder
	local      *wire.WireFormatInfo
	negotiated wire.Negotiated
	writeTO    time.Duration

	wmu   sync.Mutex // guards bw, enc and socket writes
	bw    *bufio.Writer
	enc   *wire.Encoder
	wrote atomic.Bool // something was written since the last keep-alive check

	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// clientWireFormat is what this client advertises: version 12, loose
// encoding without the marshal cache (all this codec speaks), size prefix,
// stack traces welcome, and the inactivity settings of opts.
func clientWireFormat(opts *Options) *wire.WireFormatInfo {
	w := &wire.WireFormatInfo{Version: wire.ProtocolVersion}
	copy(w.Magic[:], wire.Magic)
	w.SetBool(wire.PropTightEncodingEnabled, false)
	w.SetBool(wire.PropCacheEnabled, false)
	w.SetBool(wire.PropSizePrefixDisabled, false)
	w.SetBool(wire.PropStackTraceEnabled, true)
	w.SetBool(wire.PropTCPNoDelayEnabled, true)
	w.SetBool(wire.PropMaxFrameSizeEnabled, true)
	w.SetInt32(wire.PropCacheSize, 0)
	w.SetInt64(wire.PropMaxInactivityDuration, max(0, opts.MaxInactivity.Milliseconds()))
	w.SetInt64(wire.PropMaxInactivityDurationInitalDelay, opts.InactivityInitialDelay.Milliseconds())
	w.SetInt64(wire.PropMaxFrameSize, int64(opts.MaxFrameSize))
	w.SetString(wire.PropProviderName, "Pier Go client")
	w.SetString(wire.PropPlatformDetails, "Go")
	return w
}

// dialBroker connects to b (TCP, or TLS for ssl://), exchanges
// WireFormatInfo and applies the negotiated version. The failover layer
// calls it for each attempt. opts must have had EnsureDefaults applied.
// The returned transport does not read until start.
func dialBroker(ctx context.Context, b BrokerURL, opts *Options) (*transport, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	hostport := b.Host
	nc, err := dialSocket(ctx, b, opts)
	if err != nil {
		if b.TLS() {
			return nil, fmt.Errorf("client: dial %s://%s: %w", b.Scheme, hostport, err)
		}
		return nil, fmt.Errorf("client: dial %s: %w", hostport, err)
	}
	t := &transport{
		nc: nc, addr: hostport, log: opts.Logger.With("peer", hostport), writeTO: opts.WriteTimeout,
		local: clientWireFormat(opts), stop: make(chan struct{}),
	}
	t.dec = wire.NewDecoder(bufio.NewReaderSize(nc, 64<<10), wire.Options{MaxFrameSize: opts.MaxFrameSize})
	t.bw = bufio.NewWriterSize(nc, 64<<10)
	t.enc = wire.NewEncoder(t.bw, wire.Options{})
	if err := t.negotiate(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("client: %s: %w", hostport, err)
	}
	return t, nil
}

// negotiate sends our WireFormatInfo and reads the broker's, which must be
// its first frame.
func (t *transport) negotiate(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	t.nc.SetDeadline(dl)
	defer t.nc.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { t.nc.SetDeadline(time.Now()) })
	defer stop()
	if err := t.send(t.local); err != nil {
		return err
	}
	first, err := t.dec.Decode()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: peer did not send its wire format: %w", ErrNegotiation, ctx.Err())
		}
		return fmt.Errorf("%w: read broker wire format: %w", ErrNegotiation, err)
	}
	remote, ok := first.(*wire.WireFormatInfo)
	if !ok {
		return fmt.Errorf("%w: broker sent type %d before its WireFormatInfo", ErrNegotiation, first.DataType())
	}
	n, err := wire.Negotiate(t.local, remote)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNegotiation, err)
	}
	if n.TightEncoding || n.Cache || n.SizePrefixDisabled {
		return fmt.Errorf("%w: broker insists on tight encoding, caching or no size prefix", ErrNegotiation)
	}
	v := int(n.Version)
	if err := t.dec.SetVersion(v); err != nil {
		return fmt.Errorf("%w: %w", ErrNegotiation, err)
	}
	t.wmu.Lock()
	_ = t.enc.SetVersion(v) // checked by the decoder above
	t.enc.SetStackTraceEnabled(n.StackTrace)
	t.wmu.Unlock()
	t.dec.SetStackTraceEnabled(n.StackTrace)
	nc := t.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(n.TCPNoDelay)
	}
	t.negotiated = n
	return nil
}

// start runs the read loop, delivering to sink, and the keep-alive writer.
func (t *transport) start(sink transportSink) {
	t.wg.Add(2)
	go func() {
		defer t.wg.Done()
		t.readLoop(sink)
	}()
	go func() {
		defer t.wg.Done()
		t.keepAlive()
	}()
}

// send writes one command. A write error closes the socket, so the read
// loop reports the failure to the sink.
func (t *transport) send(cmd wire.Command) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.nc.SetWriteDeadline(time.Now().Add(t.writeTO))
	err := t.enc.Encode(cmd)
	if err == nil {
		err = t.bw.Flush()
	}
	if err != nil {
		if errors.Is(err, wire.ErrInvalidValue) || errors.Is(err, wire.ErrUnknownType) {
			return fmt.Errorf("client: encode: %w", err) // nothing was written
		}
		t.nc.Close()
		return fmt.Errorf("%w: write to %s: %w", ErrConnectionLost, t.addr, err)
	}
	t.wrote.Store(true)
	return nil
}

func (t *transport) readLoop(sink transportSink) {
	readCheck := t.negotiated.MaxInactivityDuration
	first := true
	for {
		if readCheck > 0 {
			wait := readCheck
			if first {
				wait += t.negotiated.InitialDelay
			}
			t.nc.SetReadDeadline(time.Now().Add(wait))
		}
		cmd, err := t.dec.Decode()
		first = false
		if err != nil {
			select {
			case <-t.stop:
				err = ErrClosed
			default:
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					err = fmt.Errorf("channel was inactive for too (>%v) long: %w", readCheck, err)
				}
			}
			t.nc.Close()
			sink.onTransportError(fmt.Errorf("%w: %s: %w", ErrConnectionLost, t.addr, err))
			return
		}
		if ka, ok := cmd.(*wire.KeepAliveInfo); ok {
			if ka.ResponseRequired() {
				t.send(&wire.KeepAliveInfo{})
			}
			continue
		}
		if cmd != nil {
			sink.onCommand(cmd)
		}
	}
}

// keepAlive sends a KeepAliveInfo when nothing was written for a third of
// the negotiated inactivity interval (Java's write check).
func (t *transport) keepAlive() {
	every := t.negotiated.MaxInactivityDuration / 3
	if every <= 0 {
		<-t.stop
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			if !t.wrote.Swap(false) {
				if t.send(&wire.KeepAliveInfo{}) != nil {
					return
				}
				t.wrote.Store(false)
			}
		}
	}
}

// close shuts the socket and waits for the transport's goroutines. It must
// not be called from a transportSink method.
func (t *transport) close() {
	t.closeOnce.Do(func() {
		close(t.stop)
		t.nc.Close()
	})
	t.wg.Wait()
}
