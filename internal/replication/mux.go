package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// The replication port carries two kinds of connection, told apart by their
// first byte: Raft's own (muxRaft), and status queries (muxStatus), which
// get this node's Status as JSON and are closed.
const (
	muxRaft   byte = 'R'
	muxStatus byte = 'S'
)

// muxLayer is the raft.StreamLayer of the replication port.
type muxLayer struct {
	ln        net.Listener
	advertise net.Addr
	status    func() Status
	conns     chan net.Conn
	quit      chan struct{}
	once      sync.Once
	wg        sync.WaitGroup
}

var _ raft.StreamLayer = (*muxLayer)(nil)

// listenMux listens on bind; advertise is the address peers know this node by.
func listenMux(bind, advertise string, status func() Status) (*muxLayer, error) {
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		return nil, fmt.Errorf("replication: address %q: %w", advertise, err)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("replication: listen: %w", err)
	}
	m := &muxLayer{ln: ln, advertise: adv, status: status, conns: make(chan net.Conn), quit: make(chan struct{})}
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
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.route(c)
		}()
	}
}

func (m *muxLayer) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var kind [1]byte
	if _, err := io.ReadFull(c, kind[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	switch kind[0] {
	case muxRaft:
		select {
		case m.conns <- c:
		case <-m.quit:
			c.Close()
		}
	case muxStatus:
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		json.NewEncoder(c).Encode(m.status())
		c.Close()
	default:
		c.Close()
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

// Close implements net.Listener.
func (m *muxLayer) Close() error {
	var err error
	m.once.Do(func() {
		close(m.quit)
		err = m.ln.Close()
	})
	return err
}

// Wait waits for the accept loop and the routing of accepted connections to end.
func (m *muxLayer) Wait() { m.wg.Wait() }

// Addr implements net.Listener: the advertised address.
func (m *muxLayer) Addr() net.Addr { return m.advertise }

// Dial implements raft.StreamLayer.
func (m *muxLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte{muxRaft}); err != nil {
		c.Close()
		return nil, err
	}
	c.SetWriteDeadline(time.Time{})
	return c, nil
}

// QueryStatus asks the replica whose replication port is addr (host:port)
// for its status.
func QueryStatus(ctx context.Context, addr string) (Status, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Status{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte{muxStatus}); err != nil {
		return Status{}, err
	}
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("status of %s: %w", addr, err)
	}
	return st, nil
}
