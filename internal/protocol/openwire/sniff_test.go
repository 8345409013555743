package openwire

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	pierclient "github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

func TestFirstBytes(t *testing.T) {
	wfi := []byte{0, 0, 1, 2, wire.TypeWireFormatInfo, 'A', 'c', 't', 'i', 'v', 'e', 'M', 'Q', 0, 0, 0, 12}
	for i := 1; i <= len(wfi); i++ {
		if !IsOpenWire(wfi[:i]) {
			t.Errorf("IsOpenWire(% x) = false", wfi[:i])
		}
		if isSTOMP(wfi[:i]) {
			t.Errorf("isSTOMP(% x) = true", wfi[:i])
		}
	}
	for _, s := range []string{"CONNECT\naccept-version:1.2\n\n\x00", "STOMP\n", "\n\nCONN", "\r\n", "C", "ST"} {
		if !isSTOMP([]byte(s)) || IsOpenWire([]byte(s)) {
			t.Errorf("%q: isSTOMP %v, IsOpenWire %v", s, isSTOMP([]byte(s)), IsOpenWire([]byte(s)))
		}
	}
	for _, s := range []string{"GET / HTTP/1.1\r\n", "SEND\n", "\x16\x03\x01"} {
		if isSTOMP([]byte(s)) || IsOpenWire([]byte(s)) {
			t.Errorf("%q taken for STOMP or OpenWire", s)
		}
	}
	if IsOpenWire([]byte{0, 0, 1, 2, wire.TypeWireFormatInfo, 'X'}) {
		t.Error("a frame without the magic taken for OpenWire's first")
	}
}

// TestSTOMPClientOnOpenWirePort: a STOMP client that connects to the
// OpenWire port gets a STOMP ERROR frame that says where STOMP is.
func TestSTOMPClientOnOpenWirePort(t *testing.T) {
	r := newRigWith(t, Config{STOMPURL: "stomp://127.0.0.1:61613"})
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("CONNECT\naccept-version:1.0,1.1,1.2\nhost:localhost\n\n\x00"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(nc)
	want := "ERROR\nmessage:this port speaks OpenWire; STOMP is on port 61613\ncontent-type:text/plain\ncontent-length:"
	if !strings.HasPrefix(string(got), want) || !strings.Contains(string(got), "STOMP is on stomp://127.0.0.1:61613.\n\x00") {
		t.Fatalf("answer %q", got)
	}
	// OpenWire clients are served as before.
	c := r.dial()
	c.nc.Close()
}

// TestRefuse: an OpenWire client told by Refuse that it is on the wrong
// port fails to connect with the message (ActiveMQ's JMS client throws it
// as a JMSException from createConnection or start).
func TestRefuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		RefuseOnSTOMPPort(nc, bufioReader(nc), "tcp://127.0.0.1:61616", 5*time.Second)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pierclient.Dial(ctx, "tcp://"+ln.Addr().String(), pierclient.Options{})
	if err == nil {
		c.Close(ctx)
		t.Fatal("connected")
	}
	if !strings.Contains(err.Error(), "this port speaks STOMP, not OpenWire; OpenWire is on tcp://127.0.0.1:61616") {
		t.Errorf("error %v", err)
	}
	<-done
}

func bufioReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }
