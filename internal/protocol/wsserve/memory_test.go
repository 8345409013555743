package wsserve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// clientsEnv makes the test binary a process of idle clients (see
// runClients): "ws URL N" or "tcp ADDR N".
const clientsEnv = "WSSERVE_TEST_CLIENTS"

// TestIdleConnectionMemory measures what the server holds for an idle,
// CONNECTed STOMP client over a WebSocket (heap and goroutine stacks,
// broker state included), beside one over TCP; the clients run in another
// process so that only the server's memory is counted.
func TestIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	const n = 400
	r := newRig(t, rigOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpDone := make(chan error, 1)
	go func() { tcpDone <- r.stomp.Serve(ln) }()
	defer func() { r.shutdown(); <-tcpDone }()
	ws := perConn(t, r, n, "ws", r.url)
	tcp := perConn(t, r, n, "tcp", ln.Addr().String())
	t.Logf("bytes per idle CONNECTed STOMP client: WebSocket %d, TCP %d (heap and stacks, broker included; race detector %v)",
		ws, tcp, raceEnabled)
	// 10,000 idle WebSocket clients must fit in well under 1 GB.
	limit := int64(40 << 10)
	if raceEnabled {
		limit *= 2
	}
	if ws > limit {
		t.Errorf("a WebSocket client holds %d bytes, over %d", ws, limit)
	}
}

// perConn starts n idle clients of kind at addr in a child process and
// returns the server's memory per client.
func perConn(t *testing.T, r *rig, n int, kind, addr string) int64 {
	t.Helper()
	before := inUse()
	base := r.stomp.Connections()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", clientsEnv, kind, addr, n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close() // the clients leave
		cmd.Wait()
		for deadline := time.Now().Add(waitFor); r.stomp.Connections() > base && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("clients: %q %v", line, err)
	}
	for deadline := time.Now().Add(waitFor); r.stomp.Connections() < base+n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", r.stomp.Connections()-base, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the handshakes' leftovers go
	// WSSERVE_HEAP=P writes heap profiles: go tool pprof -base P.tcp P.ws
	if p := os.Getenv("WSSERVE_HEAP"); p != "" {
		runtime.GC()
		if f, err := os.Create(p + "." + kind); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	return (inUse() - before) / int64(n)
}

// inUse is the heap in use and the goroutine stacks, after a collection.
func inUse() int64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// runClients is the child process: it opens the clients, says "ready" and
// keeps them idle until its stdin closes.
func runClients(spec string) {
	f := strings.Fields(spec)
	n, _ := strconv.Atoi(f[2])
	ctx := context.Background()
	connect := "CONNECT\naccept-version:1.2\nhost:localhost\n\n\x00"
	var keep []any
	for range n {
		var err error
		switch f[0] {
		case "ws":
			var c *websocket.Conn
			if c, _, err = websocket.Dial(ctx, f[1], dialOptions(nil, "v12.stomp")); err == nil {
				keep = append(keep, c)
				if err = c.Write(ctx, websocket.MessageText, []byte(connect)); err == nil {
					_, _, err = c.Read(ctx)
				}
			}
		case "tcp":
			var nc net.Conn
			if nc, err = net.Dial("tcp", f[1]); err == nil {
				keep = append(keep, nc)
				if _, err = io.WriteString(nc, connect); err == nil {
					_, err = bufio.NewReader(nc).ReadString(0)
				}
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "client:", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(keep)
	os.Exit(0)
}
