package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/piermq/pier/internal/replication"
)

// UpTimeout bounds how long a started node may take until its replication
// port answers a status query; generous because the machine is shared.
const UpTimeout = 60 * time.Second

// Node is one member of the group: a configuration, a data directory and
// ports that survive restarts, and at most one running process.
type Node struct {
	ID   string // store.replicated.node_id: "a", "b", ...
	Host string // the IP every listener of the node binds to
	// Addresses (host:port) of the node's listeners.
	OpenWire, STOMP, Console, Replication string
	DataDir                               string // broker.data_dir
	Config                                string // path of the YAML file

	c      *Cluster
	prefix []string
	log    *logBuffer // output of every run, with a marker line per start

	mu struct {
		sync.Mutex
		proc   *proc // nil while stopped
		paused bool
		runs   int
	}
}

// proc is one run of the node's process.
type proc struct {
	cmd      *exec.Cmd
	done     chan struct{} // closed once cmd has been waited for
	err      error         // cmd.Wait's result, once done
	expected atomic.Bool   // the harness ended it (Kill, Stop)
}

// Start starts the node's process (an error if it is running) and waits
// until its replication port answers a status query. The node takes part
// in elections from then on; it is master only once Cluster.Master says so.
func (n *Node) Start() error {
	p, err := n.launch()
	if err != nil {
		return err
	}
	return n.awaitUp(p)
}

// launch starts the node's process (an error if it is running) without
// waiting for it.
func (n *Node) launch() (*proc, error) {
	n.mu.Lock()
	if n.mu.proc != nil && !n.mu.proc.exited() {
		n.mu.Unlock()
		return nil, fmt.Errorf("cluster: node %s is already running", n.ID)
	}
	n.mu.runs++
	fmt.Fprintf(n.log, "=== cluster: run %d of node %s, started %s\n", n.mu.runs, n.ID, time.Now().Format("15:04:05.000"))
	args := append(slices.Clone(n.prefix), n.c.bin, "serve", "--config", n.Config)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		return nil, fmt.Errorf("cluster: start node %s: %w", n.ID, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	n.mu.proc, n.mu.paused = p, false
	n.mu.Unlock()
	go func() {
		defer close(p.done)
		p.err = cmd.Wait()
		if !p.expected.Load() {
			n.c.problem("node %s exited on its own (%v); its log ends:\n%s", n.ID, p.err, n.log.Tail(20))
		}
	}()
	return p, nil
}

func (n *Node) awaitUp(p *proc) error {
	deadline := time.Now().Add(UpTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var err error
		if n.c.opts.single() {
			err = n.healthy(ctx) // no replication port
		} else {
			_, err = replication.QueryStatus(ctx, n.Replication, n.c.statusTLS())
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("cluster: node %s exited before its replication port answered (%v):\n%s", n.ID, p.err, n.log.Tail(30))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: node %s: replication port %s not up after %s: %v", n.ID, n.Replication, UpTimeout, err)
		}
	}
}

// healthy asks the node's console for /healthz.
func (n *Node) healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Console+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := n.c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cluster: /healthz of %s: %s", n.ID, resp.Status)
	}
	return nil
}

// take detaches the running process (nil if none) and marks its end as
// expected.
func (n *Node) take() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.mu.proc
	n.mu.proc, n.mu.paused = nil, false
	if p != nil {
		p.expected.Store(true)
	}
	return p
}

// Kill sends SIGKILL (a crash; a paused node too) and waits until the
// process is gone. It does nothing if the node is not running.
func (n *Node) Kill() {
	p := n.take()
	if p == nil {
		return
	}
	fmt.Fprintf(n.log, "=== cluster: SIGKILL %s\n", time.Now().Format("15:04:05.000"))
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM (resuming a paused node) and waits for the process
// to exit, at most timeout, after which it is killed. It returns the exit
// error: nil for exit status 0.
func (n *Node) Stop(timeout time.Duration) error {
	p := n.take()
	if p == nil {
		return fmt.Errorf("cluster: node %s is not running", n.ID)
	}
	fmt.Fprintf(n.log, "=== cluster: SIGTERM %s\n", time.Now().Format("15:04:05.000"))
	pid := p.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGCONT)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("cluster: node %s: exit after SIGTERM: %w", n.ID, p.err)
		}
		return nil
	case <-time.After(timeout):
		syscall.Kill(pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("cluster: node %s did not exit within %s of SIGTERM", n.ID, timeout)
	}
}

// Restart stops the node with SIGTERM (if it runs) and starts it again.
func (n *Node) Restart(timeout time.Duration) error {
	if n.Running() {
		if err := n.Stop(timeout); err != nil {
			return err
		}
	}
	return n.Start()
}

// Pause stops the process with SIGSTOP: it keeps its sockets but does
// nothing, as a process stuck in a long GC pause or on a frozen VM.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP, true) }

// Resume continues a paused process with SIGCONT.
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT, false) }

func (n *Node) signal(sig syscall.Signal, paused bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.proc == nil {
		return fmt.Errorf("cluster: node %s is not running", n.ID)
	}
	fmt.Fprintf(n.log, "=== cluster: %s %s\n", sig, time.Now().Format("15:04:05.000"))
	if err := syscall.Kill(n.mu.proc.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("cluster: node %s: %s: %w", n.ID, sig, err)
	}
	n.mu.paused = paused
	return nil
}

// Wipe deletes the data directory of a node that is not running (its
// journal and Raft log), as when a machine is replaced.
func (n *Node) Wipe() error {
	if n.Running() {
		return fmt.Errorf("cluster: node %s: wipe while running", n.ID)
	}
	fmt.Fprintf(n.log, "=== cluster: data directory wiped %s\n", time.Now().Format("15:04:05.000"))
	if err := os.RemoveAll(n.DataDir); err != nil {
		return err
	}
	return os.MkdirAll(n.DataDir, 0o755)
}

// Running reports whether the node's process is up (paused counts) and
// has not exited on its own.
func (n *Node) Running() bool {
	n.mu.Lock()
	p := n.mu.proc
	n.mu.Unlock()
	return p != nil && !p.exited()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Paused reports whether the node is paused (Pause without Resume).
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.paused
}

// Ready asks the node's console for /readyz: true for 200 (master and
// serving), false for 503; an error if the console did not answer.
func (n *Node) Ready(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Console+"/readyz", nil)
	if err != nil {
		return false, err
	}
	resp, err := n.c.http.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusServiceUnavailable:
		return false, nil
	}
	return false, fmt.Errorf("cluster: node %s: /readyz: %s", n.ID, resp.Status)
}

// Status asks the node's replication port for its Raft status
// (applied_index, state, leader, ...).
func (n *Node) Status(ctx context.Context) (replication.Status, error) {
	return replication.QueryStatus(ctx, n.Replication, n.c.statusTLS())
}

// Log returns everything the node's processes wrote so far, each run
// introduced by a line "=== cluster: run N of node X".
func (n *Node) Log() string { return n.log.String() }

// Failures returns the lines of the node's log at level ERROR or WARN, and
// any panic or fatal error, oldest first.
func (n *Node) Failures() []string {
	var out []string
	for line := range strings.SplitSeq(n.log.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") ||
			strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
			out = append(out, line)
		}
	}
	return out
}

// logBuffer collects a process's output; safe for the process's writer
// and the test's readers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines.
func (b *logBuffer) Tail(n int) string {
	s := strings.TrimRight(b.String(), "\n")
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
