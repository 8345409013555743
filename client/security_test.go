package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// scripted is a fake broker: it hands every command of connection n (from
// 0) to script, writes the replies script returns (a Response when it
// returns none for a command that asks for one) and closes the connection
// when script says so.
type scripted struct {
	script func(n int, cmd wire.BaseCommand) (replies []wire.Command, closeAfter bool)
	addr   string
	conns  atomic.Int32

	mu   sync.Mutex
	open []net.Conn
	wg   sync.WaitGroup
}

func startScripted(t *testing.T, script func(n int, cmd wire.BaseCommand) ([]wire.Command, bool)) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{script: script, addr: ln.Addr().String()}
	t.Cleanup(func() {
		ln.Close()
		s.drop()
		s.wg.Wait()
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.conns.Add(1)) - 1
			s.mu.Lock()
			s.open = append(s.open, nc)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(n, nc)
			}()
		}
	}()
	return s
}

// drop closes every open connection, as a broker that went away.
func (s *scripted) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, nc := range s.open {
		nc.Close()
	}
	s.open = nil
}

func (s *scripted) serve(n int, nc net.Conn) {
	dec := wire.NewDecoder(nc, wire.Options{StackTraceEnabled: true})
	enc := wire.NewEncoder(nc, wire.Options{StackTraceEnabled: true})
	var opts Options
	opts.EnsureDefaults()
	opts.MaxInactivity = -1
	if enc.Encode(clientWireFormat(&opts)) != nil {
		return
	}
	for {
		cmd, err := dec.Decode()
		if err != nil {
			return
		}
		bc, ok := cmd.(wire.BaseCommand)
		if !ok {
			continue
		}
		if _, ok := bc.(*wire.ConnectionInfo); ok && announce(enc) != nil { // as brokers do, before the answer
			return
		}
		replies, closeAfter := s.script(n, bc)
		if len(replies) == 0 && bc.ResponseRequired() {
			replies = []wire.Command{&wire.Response{CorrelationID: bc.CommandID()}}
		}
		for _, r := range replies {
			if enc.Encode(r) != nil {
				return
			}
		}
		if closeAfter {
			return
		}
	}
}

// announce sends a fake broker's BrokerInfo.
func announce(enc *wire.Encoder) error {
	return enc.Encode(&wire.BrokerInfo{BrokerID: &wire.BrokerID{Value: "ID:fake"}, BrokerName: "fake"})
}

func securityException(msg string) *wire.Throwable {
	return &wire.Throwable{Class: "java.lang.SecurityException", Message: msg}
}

// refuseLogin answers a ConnectionInfo with a SecurityException, and with
// closeAfter closes the connection right after, as a broker refusing the
// credentials may (ActiveMQ leaves that to the client).
func refuseLogin(cmd wire.BaseCommand, closeAfter bool) ([]wire.Command, bool) {
	if _, ok := cmd.(*wire.ConnectionInfo); ok {
		return []wire.Command{&wire.ExceptionResponse{CorrelationID: cmd.CommandID(),
			Exception: securityException("User name [bob] or password is invalid.")}}, closeAfter
	}
	return nil, false
}

func TestDialLoginRefused(t *testing.T) {
	fake := startScripted(t, func(_ int, cmd wire.BaseCommand) ([]wire.Command, bool) { return refuseLogin(cmd, true) })
	for _, u := range []string{"tcp://" + fake.addr, fastFailover(fake.addr)} {
		// The broker closes the socket right after its answer: the answer
		// must win every time.
		for range 20 {
			opts := Options{Username: "bob", Password: "wrong"}
			h := newHooks(&opts)
			_, err := Dial(testCtx(t), u, opts)
			if n := h.interrupted.Load(); n != 0 {
				t.Fatalf("%s: OnInterrupted called %d times: the refusal is not an outage", u, n)
			}
			var be *BrokerError
			if !errors.Is(err, ErrSecurity) || !errors.As(err, &be) || be.Message != "User name [bob] or password is invalid." ||
				!strings.Contains(err.Error(), "java.lang.SecurityException: User name [bob] or password is invalid.") {
				t.Fatalf("%s: Dial: %v, want the broker's SecurityException", u, err)
			}
		}
	}
	if err := (&BrokerError{Class: "javax.jms.JMSSecurityException"}); !errors.Is(err, ErrSecurity) {
		t.Error("JMSSecurityException does not match ErrSecurity")
	}
}

// A failover connection whose credentials are refused when it reconnects
// ends with the broker's error instead of reconnecting for ever.
func TestFailoverLoginRefusedOnReconnect(t *testing.T) {
	for _, closeAfter := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeAfter), func(t *testing.T) {
			var refuse atomic.Bool
			fake := startScripted(t, func(_ int, cmd wire.BaseCommand) ([]wire.Command, bool) {
				if refuse.Load() {
					return refuseLogin(cmd, closeAfter)
				}
				return nil, false
			})
			var opts Options
			h := newHooks(&opts)
			c, err := Dial(testCtx(t), fastFailover(fake.addr), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			refuse.Store(true)
			fake.drop()
			select {
			case <-c.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("the connection goes on after its login was refused (%d connections)", fake.conns.Load())
			}
			err = c.Err()
			if !errors.Is(err, ErrSecurity) || !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "password is invalid") {
				t.Fatalf("Err = %v, want the SecurityException and ErrConnectionLost", err)
			}
			// A broker that closes the socket at once may do so before the
			// client read its answer; then the client tries again.
			if n := fake.conns.Load(); n != 2 && !closeAfter {
				t.Errorf("%d connections, want 2 (no reconnection after the refusal)", n)
			}
			if got := h.interrupted.Load(); got != 1 {
				t.Errorf("OnInterrupted called %d times, want 1", got)
			}
		})
	}
}

// A command sent without waiting that the broker refuses is reported to
// OnAsyncError; when the broker then closes the connection, the end says
// why.
func TestAsyncSecurityError(t *testing.T) {
	fake := startScripted(t, func(_ int, cmd wire.BaseCommand) ([]wire.Command, bool) {
		if m, ok := cmd.(*wire.Message); ok && !m.ResponseRequired() {
			return []wire.Command{&wire.ConnectionError{Exception: securityException(
				"User bob is not authorized to write to: queue://secret")}}, true
		}
		return nil, false
	})
	errs := make(chan error, 1)
	c := dial(t, "tcp://"+fake.addr, Options{OnAsyncError: func(err error) { errs <- err }})
	s := session(t, c, AutoAck)
	p := producer(t, s, Queue("secret"))
	m := NewTextMessage("x")
	m.Persistent = false
	if err := p.Send(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, ErrSecurity) || !strings.Contains(err.Error(), "not authorized to write to: queue://secret") {
			t.Errorf("OnAsyncError: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnAsyncError not called")
	}
	<-c.Done()
	if err := c.Err(); !errors.Is(err, ErrSecurity) || !errors.Is(err, ErrConnectionLost) ||
		!strings.Contains(err.Error(), "the broker had reported") {
		t.Errorf("Err = %v, want the lost connection with the broker's report", err)
	}
}
