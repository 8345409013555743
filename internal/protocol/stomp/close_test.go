package stomp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/broker"
)

// junk is what a client still sends after the frame the server refuses: a
// pipelining client does not wait for an answer.
var junk = bytes.Repeat([]byte("JUNK"), 16<<10) // 64 KiB

// readToClose reads frames until the connection ends and returns them with
// the error that ended it. It starts only after the server has had time
// to close, so that a reset (which makes the client's stack drop what it
// received and did not read) would happen first.
func readToClose(t *testing.T, nc net.Conn) ([]*Frame, error) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := NewReader(bufio.NewReader(nc), Limits{})
	var frames []*Frame
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return frames, err
		}
		if f != nil {
			frames = append(frames, f)
		}
	}
}

// writeAll writes p, ignoring a failure: without a graceful close the
// server may reset the connection under the client's writes.
func writeAll(nc net.Conn, p ...[]byte) {
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	nc.Write(bytes.Join(p, nil))
}

// checkErrorThenClose wants an ERROR frame containing want, then a clean
// end of stream (no reset).
func checkErrorThenClose(t *testing.T, frames []*Frame, err error, want string) {
	t.Helper()
	var got *Frame
	for _, f := range frames {
		if f.Command == CmdError {
			got = f
		}
	}
	if got == nil {
		t.Fatalf("no ERROR frame before the close (frames %d, err %v)", len(frames), err)
	}
	if msg := got.Get("message"); !strings.Contains(msg, want) {
		t.Fatalf("ERROR message %q, want it to contain %q", msg, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the connection ended with %v, want a clean end of stream", err)
	}
}

func TestErrorFrameArrivesDespiteUnreadInput(t *testing.T) {
	r := newRig(t, Config{}, broker.Config{})
	for _, tc := range []struct {
		name, connect, bad, want string
	}{
		{"malformed frame", "CONNECT\naccept-version:1.2\nhost:pier\n\n\x00", "SEND\nno colon here\n\n\x00", "without colon"},
		{"content-length too large", "CONNECT\naccept-version:1.2\nhost:pier\n\n\x00",
			"SEND\ndestination:/queue/a\ncontent-length:99999999999\n\n", "exceeds"},
		{"frame before CONNECT", "", "SEND\ndestination:/queue/a\n\nx\x00", "expected CONNECT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			writeAll(nc, []byte(tc.connect), []byte(tc.bad), junk)
			frames, err := readToClose(t, nc)
			checkErrorThenClose(t, frames, err, tc.want)
		})
	}
}

func TestRefusedConnectionGetsItsError(t *testing.T) {
	r := newRig(t, Config{MaxConnections: 1}, broker.Config{})
	r.connect("1.2")
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	writeAll(nc, []byte("CONNECT\naccept-version:1.2\nhost:pier\n\n\x00"), junk)
	frames, err := readToClose(t, nc)
	checkErrorThenClose(t, frames, err, "too many connections")
}
