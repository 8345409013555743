package openwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/piermq/pier/internal/protocol/openwire/wire"
)

// junk is what a client still sends after the command the broker refuses.
var junk = bytes.Repeat([]byte("JUNK"), 16<<10) // 64 KiB

// readToClose reads commands until the connection ends and returns them
// with the error that ended it. It starts only after the broker has had
// time to close, so that a reset would happen first.
func readToClose(t *testing.T, nc net.Conn) ([]wire.Command, error) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	dec := wire.NewDecoder(bufio.NewReader(nc), wire.Options{})
	var cmds []wire.Command
	for {
		cmd, err := dec.Decode()
		if err != nil {
			return cmds, err
		}
		cmds = append(cmds, cmd)
	}
}

// checkConnectionError wants a ConnectionError containing want, then a
// clean end of stream (no reset).
func checkConnectionError(t *testing.T, cmds []wire.Command, err error, want string) {
	t.Helper()
	var ce *wire.ConnectionError
	for _, cmd := range cmds {
		if x, ok := cmd.(*wire.ConnectionError); ok {
			ce = x
		}
	}
	if ce == nil || ce.Exception == nil {
		t.Fatalf("no ConnectionError before the close (%d commands, err %v)", len(cmds), err)
	}
	if !strings.Contains(ce.Exception.Message, want) {
		t.Fatalf("ConnectionError %q, want it to contain %q", ce.Exception.Message, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the connection ended with %v, want a clean end of stream", err)
	}
}

func clientWireFormat(t *testing.T) []byte {
	t.Helper()
	b, err := wire.Marshal(wire.NewBrokerWireFormat(wire.BrokerWireFormatConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hugeToken is a ConnectionControl whose token declares 2 GiB.
func hugeToken(t *testing.T) []byte {
	t.Helper()
	b, err := wire.Marshal(&wire.ConnectionControl{Token: []byte("MARK")})
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("MARK"))
	copy(b[i-4:], []byte{0x7f, 0xff, 0xff, 0xff})
	return b
}

func TestConnectionErrorArrivesDespiteUnreadInput(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		name string
		bad  []byte
		want string
	}{
		{"unknown command type", []byte{0, 0, 0, 5, 0xEE, 1, 2, 3, 4}, "unknown"},
		{"byte array longer than the frame", hugeToken(t), "byte array"},
		{"frame too large", []byte{0x7f, 0xff, 0xff, 0xff}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", r.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			nc.Write(bytes.Join([][]byte{clientWireFormat(t), tc.bad, junk}, nil)) // may fail after a reset
			cmds, err := readToClose(t, nc)
			checkConnectionError(t, cmds, err, tc.want)
		})
	}
}

func TestRefusedConnectionGetsItsConnectionError(t *testing.T) {
	r := newRigWith(t, Config{MaxConnections: 1})
	r.dial()
	nc, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	nc.Write(append(clientWireFormat(t), junk...))
	cmds, err := readToClose(t, nc)
	checkConnectionError(t, cmds, err, "too many connections")
}
