package replication

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// The replication port carries two kinds of connection, told apart by their
// first byte: Raft's own (muxRaft), and status queries (muxStatus), which
// get this node's Status as JSON and are closed. With TLS, the byte is the
// first one sent inside the TLS session.
const (
	muxRaft   byte = 'R'
	muxStatus byte = 'S'
)

// openTimeout bounds the opening of an accepted connection: the TLS
// handshake, if any, and the first byte. A stranger that connects and
// sends nothing is closed after it.
const openTimeout = 5 * time.Second

// refusalLogInterval is how often refusals of one host are logged at most.
const refusalLogInterval = time.Minute

// muxLayer is the raft.StreamLayer of the replication port.
type muxLayer struct {
	ln        net.Listener
	advertise net.Addr
	status    func() Status
	server    *tls.Config // nil: plain TCP
	client    *tls.Config
	timeout   time.Duration // bounds the opening of a connection
	refused   *refusals
	conns     chan net.Conn
	quit      chan struct{}
	once      sync.Once
	wg        sync.WaitGroup

	mu struct {
		sync.Mutex
		closed  bool
		opening map[net.Conn]struct{} // accepted, not yet routed
	}
}

var _ raft.StreamLayer = (*muxLayer)(nil)

// listenMux listens on bind; advertise is the address peers know this node
// by. With t, every connection in and out is mutually authenticated TLS.
// timeout bounds the opening of an accepted connection (openTimeout).
func listenMux(bind, advertise string, status func() Status, t *TLS, timeout time.Duration, log *slog.Logger) (*muxLayer, error) {
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		return nil, fmt.Errorf("replication: address %q: %w", advertise, err)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("replication: listen: %w", err)
	}
	m := &muxLayer{ln: ln, advertise: adv, status: status, timeout: timeout,
		refused: newRefusals(log, refusalLogInterval), conns: make(chan net.Conn), quit: make(chan struct{})}
	if t != nil {
		m.server, m.client = t.serverConfig(), t.clientConfig()
	}
	m.mu.opening = map[net.Conn]struct{}{}
	m.wg.Add(1)
	go m.serve()
	return m, nil
}

func (m *muxLayer) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.quit:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors
			continue
		}
		if !m.track(c) {
			c.Close()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(c)
		}()
	}
}

// track notes an accepted connection as opening (Close closes those);
// false once the layer is closed.
func (m *muxLayer) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return false
	}
	m.mu.opening[c] = struct{}{}
	return true
}

func (m *muxLayer) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.mu.opening, c)
	m.mu.Unlock()
}

func (m *muxLayer) route(raw net.Conn) {
	c, kind, err := m.open(raw)
	m.untrack(raw)
	if err != nil {
		raw.Close()
		var he handshakeError
		if errors.As(err, &he) && !m.closing() {
			m.refused.note(raw.RemoteAddr(), he.err)
		}
		return
	}
	switch kind {
	case muxRaft:
		select {
		case m.conns <- c:
		case <-m.quit:
			c.Close()
		}
	case muxStatus:
		c.SetWriteDeadline(time.Now().Add(m.timeout))
		json.NewEncoder(c).Encode(m.status())
		c.Close()
	default:
		c.Close()
	}
}

// handshakeError is a refused TLS handshake on the listening side.
type handshakeError struct{ err error }

func (e handshakeError) Error() string { return "replication: TLS handshake: " + e.err.Error() }

// open does the TLS handshake, if any, and reads the first byte, both
// within m.timeout: nobody holds the connection's goroutine longer
// without having proved membership and said what the connection is for.
func (m *muxLayer) open(raw net.Conn) (net.Conn, byte, error) {
	raw.SetDeadline(time.Now().Add(m.timeout))
	var kind [1]byte
	if _, err := io.ReadFull(raw, kind[:]); err != nil {
		if m.server != nil {
			err = handshakeError{err}
		}
		return nil, 0, err
	}
	c := raw
	if m.server != nil {
		// A client speaking plain TCP (its first byte is R or S, not a
		// TLS handshake record) is closed at once rather than left waiting
		// for the rest of a record header that never comes.
		if kind[0] != tlsHandshakeRecord {
			return nil, 0, handshakeError{fmt.Errorf("not TLS (first byte %#02x)", kind[0])}
		}
		tc := tls.Server(&replayConn{Conn: raw, first: kind[0]}, m.server)
		if err := tc.Handshake(); err != nil {
			return nil, 0, handshakeError{err}
		}
		if _, err := io.ReadFull(tc, kind[:]); err != nil {
			return nil, 0, err
		}
		c = tc
	}
	raw.SetDeadline(time.Time{})
	return c, kind[0], nil
}

// tlsHandshakeRecord is the first byte of every TLS connection (the
// content type of the record carrying the ClientHello).
const tlsHandshakeRecord = 0x16

// replayConn is a connection whose first byte has been read already: it
// returns that byte before the rest.
type replayConn struct {
	net.Conn
	first  byte
	played bool
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.played || len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.played = true
	p[0] = c.first
	return 1, nil
}

func (m *muxLayer) closing() bool {
	select {
	case <-m.quit:
		return true
	default:
		return false
	}
}

// Accept implements net.Listener: the next Raft connection.
func (m *muxLayer) Accept() (net.Conn, error) {
	select {
	case c := <-m.conns:
		return c, nil
	case <-m.quit:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; connections still opening are closed too.
func (m *muxLayer) Close() error {
	var err error
	m.once.Do(func() {
		close(m.quit)
		err = m.ln.Close()
		m.mu.Lock()
		m.mu.closed = true
		for c := range m.mu.opening {
			c.Close()
		}
		m.mu.Unlock()
	})
	return err
}

// Wait waits for the accept loop and the routing of accepted connections to end.
func (m *muxLayer) Wait() { m.wg.Wait() }

// Addr implements net.Listener: the advertised address.
func (m *muxLayer) Addr() net.Addr { return m.advertise }

// Dial implements raft.StreamLayer.
func (m *muxLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialPort(ctx, string(addr), m.client, muxRaft)
}

// dialPort connects to a replication port for kind: TCP, the TLS handshake
// when cfg is set, then the byte that says what the connection is for, all
// within ctx.
func dialPort(ctx context.Context, addr string, cfg *tls.Config, kind byte) (net.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	c := raw
	if cfg != nil {
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		c = tc
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, err
	}
	raw.SetDeadline(time.Time{})
	return c, nil
}

// QueryStatus asks the replica whose replication port is addr (host:port)
// for its status. t is the group's TLS (nil for a port without): a port
// with TLS answers only a client presenting a certificate of the group.
func QueryStatus(ctx context.Context, addr string, t *TLS) (Status, error) {
	var cfg *tls.Config
	if t != nil {
		cfg = t.clientConfig()
	}
	c, err := dialPort(ctx, addr, cfg, muxStatus)
	if err != nil {
		return Status{}, fmt.Errorf("replication: status of %s: %w", addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		if t == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return Status{}, fmt.Errorf("replication: status of %s: closed without an answer "+
				"(a replication port with mutual TLS answers only a certificate of its group): %w", addr, err)
		}
		return Status{}, fmt.Errorf("replication: status of %s: %w", addr, err)
	}
	return st, nil
}
