package netserve

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, _ := ln.Accept()
		accepted <- nc
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// refuse is a server that reads a little of what the client sent, answers
// with an error and ends the connection with closeFn, while the client's
// pipelined input is still unread.
func refuse(t *testing.T, server, client net.Conn, closeFn func(net.Conn)) (got []byte, err error) {
	t.Helper()
	if _, err := client.Write(bytes.Repeat([]byte("j"), 64<<10)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write([]byte("ERROR: go away\n")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		closeFn(server)
		close(done)
	}()
	time.Sleep(100 * time.Millisecond) // let a reset, if any, arrive before the client reads
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err = io.ReadAll(client)
	client.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("CloseAfterError did not return after the client closed")
	}
	return got, err
}

func TestCloseAfterErrorSendsFINNotReset(t *testing.T) {
	t.Run("plain close resets (control)", func(t *testing.T) {
		server, client := tcpPair(t)
		_, err := refuse(t, server, client, func(nc net.Conn) { nc.Close() })
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a plain close with unread input ended the client's read with %v; the test cannot see a reset", err)
		}
	})
	t.Run("CloseAfterError", func(t *testing.T) {
		server, client := tcpPair(t)
		start := time.Now()
		got, err := refuse(t, server, client, func(nc net.Conn) { CloseAfterError(nc, 3*time.Second) })
		if err != nil || string(got) != "ERROR: go away\n" {
			t.Fatalf("client read %q, %v; want the error and a clean end of stream", got, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("CloseAfterError waited %v although the client closed", d)
		}
	})
}

func TestCloseAfterErrorIsBounded(t *testing.T) {
	t.Run("time", func(t *testing.T) {
		server, client := tcpPair(t)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a client that never stops sending, slowly
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					if _, err := client.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		start := time.Now()
		CloseAfterError(server, 200*time.Millisecond)
		if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
			t.Fatalf("drained for %v, want about 200ms", d)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		server, client := tcpPair(t)
		go io.Copy(client, neverEnding{}) // ends when the server closes
		start := time.Now()
		CloseAfterError(server, 30*time.Second)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("drained for %v, want to stop after %d bytes", d, DrainBytes)
		}
	})
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) { return len(p), nil }

func TestCloseAfterErrorOverTLS(t *testing.T) {
	cert := selfSigned(t)
	rawServer, rawClient := tcpPair(t)
	server := tls.Server(rawServer, &tls.Config{Certificates: []tls.Certificate{cert}})
	client := tls.Client(rawClient, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- client.Handshake() }()
	if err := server.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got, err := refuse(t, server, client, func(nc net.Conn) { CloseAfterError(nc, 3*time.Second) })
	if err != nil || string(got) != "ERROR: go away\n" {
		t.Fatalf("client read %q, %v; want the error and close_notify", got, err)
	}
}

func TestLinger(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{errors.New("malformed"), true},
		{io.EOF, false},
		{io.ErrUnexpectedEOF, false},
		{net.ErrClosed, false},
	} {
		if got := Linger(tc.err); got != tc.want {
			t.Errorf("Linger(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pier-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestFinishLingersAfterRelease(t *testing.T) {
	server, client := tcpPair(t)
	o := NewOutbox[string]()
	go o.Run(context.Background(), Writer[string]{Conn: server, Timeout: time.Second,
		Write: func(s string) error { _, err := io.WriteString(server, s); return err },
		Flush: func() error { return nil },
		Beat:  func() error { return nil },
	})
	if _, err := client.Write(bytes.Repeat([]byte("j"), 64<<10)); err != nil {
		t.Fatal(err)
	}
	o.Push("ERROR: go away\n")
	released := make(chan struct{})
	done := make(chan struct{})
	go func() {
		o.Finish(server, time.Second, true, func() {}, func() { close(released) })
		close(done)
	}()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(client) // ends at the FIN, while Finish drains
	if err != nil || string(got) != "ERROR: go away\n" {
		t.Fatalf("client read %q, %v", got, err)
	}
	select {
	case <-released:
	default:
		t.Fatal("the connection was not released before the drain")
	}
	client.Close()
	<-done
}
