package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/piermq/pier/bench/internal/proc"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/piermq/pier/client"
)

// member is one failover connection and what happened to it after the kill.
type member struct {
	conn     *client.Conn
	resumed  chan struct{} // gets a value at the first OnResumed
	resumeAt atomic.Int64  // UnixNano of the first OnResumed, 0 before
	answerAt time.Time     // when a request after the resume was answered
	err      error         // why it was not
}

// runReconnect connects --clients failover connections, kills the master
// and reports how long they took to come back, and what it cost the new
// master.
func runReconnect(args []string) error {
	fs := flag.NewFlagSet("reconnect", flag.ContinueOnError)
	var c common
	c.register(fs)
	clients := fs.Int("clients", 1000, "failover connections")
	users := fs.Int("users", 1, "with --prefix: client i logs in as PREFIX(i mod users)")
	dialers := fs.Int("dialers", 50, "connections opened at once before the kill")
	kill := fs.Int("kill", 0, "the master's pid, killed with SIGKILL")
	watch := fs.String("watch", "", "host:port of the listener the new master opens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if *clients < 1 || *users < 1 || *dialers < 1 || *kill <= 0 || *watch == "" {
		return errors.New("--clients, --users, --dialers, --kill and --watch are needed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()

	masterCPU0, err := c.cpuOf(*kill)
	if err != nil {
		return err
	}
	start := time.Now()
	members, interrupted, err := connectAll(ctx, &c, *clients, *users, *dialers)
	defer closeAll(members)
	if err != nil {
		return err
	}
	connectTook := time.Since(start)
	masterCPU1, err := c.cpuOf(*kill)
	if err != nil {
		return err
	}
	tl, err := failOver(ctx, &c, members, *kill, *watch)
	if err != nil {
		return err
	}
	resumed, answered := outcome(members)
	last := func(ts []time.Time, from time.Time) any {
		if len(ts) == 0 {
			return "-"
		}
		return ts[len(ts)-1].Sub(from)
	}
	median := func(ts []time.Time, from time.Time) any {
		if len(ts) == 0 {
			return "-"
		}
		return ts[len(ts)/2].Sub(from)
	}
	c.result("clients", *clients, "users", *users, "connect_s", connectTook,
		"connect_cpu_us_per_login", proc.PerOp(masterCPU1-masterCPU0, *clients),
		"interrupted", interrupted.Load(), "resumed", len(resumed), "answered", len(answered),
		"kill_to_listen_s", tl.listenAt.Sub(tl.killAt),
		"kill_to_resumed_s", last(resumed, tl.killAt), "listen_to_resumed_s", last(resumed, tl.listenAt),
		"kill_to_answered_s", last(answered, tl.killAt), "listen_to_answered_s", last(answered, tl.listenAt),
		"listen_to_answered_p50_s", median(answered, tl.listenAt),
		"cpu_takeover_ms", proc.Ms(tl.cpuListen-tl.cpuKill), "cpu_logins_ms", proc.Ms(tl.cpuDone-tl.cpuListen),
		"cpu_us_per_login", proc.PerOp(tl.cpuDone-tl.cpuListen, len(answered)))
	if len(answered) < *clients {
		return fmt.Errorf("%d of %d connections came back", len(answered), *clients)
	}
	return nil
}

// timeline is when the master was killed and the new master listened, and
// the new master's CPU time then and when the last member was answered.
type timeline struct {
	killAt, listenAt            time.Time
	cpuKill, cpuListen, cpuDone time.Duration
}

// failOver kills the master with SIGKILL, waits for the new master's
// listener at watch and for every member's probe.
func failOver(ctx context.Context, c *common, members []*member, kill int, watch string) (*timeline, error) {
	var tl timeline
	var err error
	if tl.cpuKill, err = c.cpu(); err != nil {
		return nil, err
	}
	tl.killAt = time.Now()
	if err := syscall.Kill(kill, syscall.SIGKILL); err != nil {
		return nil, fmt.Errorf("kill %d: %w", kill, err)
	}
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() { m.probe(ctx) })
	}
	tl.listenAt, err = waitListening(ctx, watch)
	if err == nil {
		tl.cpuListen, err = c.cpu()
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if tl.cpuDone, err = c.cpu(); err != nil {
		return nil, err
	}
	return &tl, nil
}

// outcome returns, sorted, when members were resumed and when they were
// answered, and says on stderr why the first one that was not came back.
func outcome(members []*member) (resumed, answered []time.Time) {
	var lost error
	for _, m := range members {
		if at := m.resumeAt.Load(); at != 0 {
			resumed = append(resumed, time.Unix(0, at))
		}
		if m.err == nil {
			answered = append(answered, m.answerAt)
		} else if lost == nil {
			lost = m.err
		}
	}
	if lost != nil {
		fmt.Fprintln(os.Stderr, "security: a connection did not come back:", lost)
	}
	slices.SortFunc(resumed, time.Time.Compare)
	slices.SortFunc(answered, time.Time.Compare)
	return resumed, answered
}

// connectAll opens n failover connections, dialers at once; client i logs
// in as c.userAt(i % users). interrupted counts OnInterrupted calls.
func connectAll(ctx context.Context, c *common, n, users, dialers int) ([]*member, *atomic.Int64, error) {
	interrupted := new(atomic.Int64)
	members := make([]*member, n)
	var next atomic.Int64
	errs := make([]error, dialers)
	var wg sync.WaitGroup
	for w := range dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || errs[w] != nil {
					return
				}
				m := &member{resumed: make(chan struct{}, 1)}
				opts := client.Options{Username: c.userAt(i % users), Password: c.password, TLS: c.tls,
					NoTopicAdvisories: true,
					OnInterrupted:     func(error) { interrupted.Add(1) },
					OnResumed: func(string) {
						if m.resumeAt.CompareAndSwap(0, time.Now().UnixNano()) {
							m.resumed <- struct{}{}
						}
					}}
				conn, err := client.Dial(ctx, c.url, opts)
				if err != nil {
					errs[w] = fmt.Errorf("connect %s: %w", opts.Username, err)
					continue
				}
				m.conn = conn
				members[i] = m
			}
		})
	}
	wg.Wait()
	members = slices.DeleteFunc(members, func(m *member) bool { return m == nil })
	return members, interrupted, errors.Join(errs...)
}

// probe waits for the connection to be resumed, then has the broker answer
// a request (an anonymous producer on a new session), which it does only
// after accepting the replayed login.
func (m *member) probe(ctx context.Context) {
	select {
	case <-m.resumed:
	case <-m.conn.Done():
		m.err = fmt.Errorf("connection ended: %w", m.conn.Err())
		return
	case <-ctx.Done():
		m.err = fmt.Errorf("not resumed: %w", ctx.Err())
		return
	}
	s, err := m.conn.Session(ctx, client.AutoAck)
	if err == nil {
		_, err = s.Producer(ctx, nil)
	}
	m.answerAt, m.err = time.Now(), err
}

// waitListening dials addr every 5 ms until it accepts and returns when.
func waitListening(ctx context.Context, addr string) (time.Time, error) {
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			at := time.Now()
			conn.Close()
			return at, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%s did not listen: %w", addr, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// closeAll closes every connection, at once, within 10 s.
func closeAll(members []*member) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Go(func() { m.conn.Close(ctx) })
	}
	wg.Wait()
}
