// Command scale measures what idle connections and empty queues cost a
// broker, for bench/compare-scale.sh. Over OpenWire (package client), it
// reads the broker's resident memory (VmRSS of --pid) at rest, with --conns
// idle connections open and after they closed (--rounds times: phases
// conns, closed, conns2, closed2, ...), and with --queues empty queues
// made, each reading taken after --settle, and prints one key=value line
// per reading (memory in KiB, per-item figures in bytes against the
// reading at rest for connections and the one before for queues,
// durations in seconds):
//
//	scale --url tcp://127.0.0.1:61900 --pid PID --conns 10000 --queues 10000 \
//	    [--rounds 2] [--settle 10s] [--dialers 32] [--workers 16] [--persistent=true] [--probe CMD]
//
// An idle connection is a logged-in JMS connection with no session and no
// advisory consumer (NoTopicAdvisories; the Java client's
// watchTopicAdvisories=false). Each queue (scale.qNNNNN) is made by one
// message sent to it and then consumed (auto acknowledge) by a consumer
// that closes again: the queue exists, has seen traffic and is empty.
// --workers connections do that at once. --probe, when set, is run by sh
// after each reading and its first line of output (a number of KiB, e.g.
// the JVM heap in use after a full collection) is printed as probe_kb.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
	"github.com/piermq/pier/client"
)

type flags struct {
	url              string
	broker           proc.Proc
	conns, queues    int
	rounds           int
	dialers, workers int
	persistent       bool
	settle, timeout  time.Duration
	probe            string
}

func main() {
	var f flags
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:61616", "broker URL")
	fs.IntVar(&f.broker.PID, "pid", 0, "the broker process whose memory is read")
	fs.IntVar(&f.broker.ClkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	fs.IntVar(&f.conns, "conns", 10000, "idle connections to open")
	fs.IntVar(&f.rounds, "rounds", 2, "times the connections are opened and closed again")
	fs.IntVar(&f.queues, "queues", 10000, "empty queues to make")
	fs.IntVar(&f.dialers, "dialers", 32, "connections being opened at once")
	fs.IntVar(&f.workers, "workers", 16, "connections making queues at once")
	fs.BoolVar(&f.persistent, "persistent", true, "the message that makes each queue is persistent")
	fs.DurationVar(&f.settle, "settle", 10*time.Second, "wait before each reading")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&f.probe, "probe", "", "shell command run after each reading; its first line is printed as probe_kb")
	fs.Parse(os.Args[1:])
	if f.broker.PID <= 0 || f.conns < 0 || f.queues < 0 || f.rounds < 1 || f.dialers < 1 || f.workers < 1 {
		fmt.Fprintln(os.Stderr, "scale: --pid is required; counts must not be negative, --rounds, --dialers and --workers at least 1")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := run(ctx, &f); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f *flags) error {
	last, err := f.reading(ctx, "rest", nil)
	if err != nil {
		return err
	}
	rest := last
	for round := 1; round <= f.rounds && f.conns > 0; round++ {
		// Each round is measured from the broker at rest: from the second
		// on, the memory freed by the round before is there to be reused
		// (and a runtime may have to touch it again).
		phase := "conns"
		if round > 1 {
			phase = fmt.Sprintf("conns%d", round)
		}
		start := time.Now()
		conns, err := dialAll(ctx, f)
		if err != nil {
			closeAll(conns)
			return err
		}
		took := time.Since(start)
		_, err = f.reading(ctx, phase, rest, "n", len(conns), "open_s", took)
		closeAll(conns)
		if err != nil {
			return err
		}
		if last, err = f.reading(ctx, "closed"+strings.TrimPrefix(phase, "conns"), nil); err != nil {
			return err
		}
	}
	if f.queues > 0 {
		start := time.Now()
		if err := makeQueues(ctx, f); err != nil {
			return err
		}
		_, err = f.reading(ctx, "queues", last, "n", f.queues, "make_s", time.Since(start))
	}
	return err
}

// reading waits --settle, reads the broker's RSS (and the probe) and prints
// them with kv; with an earlier reading and "n" among kv it adds the bytes
// per item between the two.
func (f *flags) reading(ctx context.Context, phase string, prev *reading, kv ...any) (*reading, error) {
	select {
	case <-time.After(f.settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var r reading
	var err error
	if r.rss, err = f.broker.RSSKB(); err != nil {
		return nil, fmt.Errorf("broker memory: %w", err)
	}
	line := append([]any{"phase", phase}, kv...)
	line = append(line, "rss_kb", r.rss)
	if f.probe != "" {
		if r.probe, err = runProbe(ctx, f.probe); err != nil {
			return nil, err
		}
		line = append(line, "probe_kb", r.probe)
	}
	if n := count(kv); prev != nil && n > 0 {
		line = append(line, "rss_per_item_b", float64(r.rss-prev.rss)*1024/float64(n))
		if f.probe != "" {
			line = append(line, "probe_per_item_b", float64(r.probe-prev.probe)*1024/float64(n))
		}
	}
	fmt.Println(proc.Line(line...))
	return &r, nil
}

// reading is one reading of the broker's memory, in KiB.
type reading struct{ rss, probe int64 }

// count returns the value of "n" among key=value pairs, or 0.
func count(kv []any) int {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "n" {
			n, _ := kv[i+1].(int)
			return n
		}
	}
	return 0
}

func runProbe(ctx context.Context, cmd string) (int64, error) {
	out, err := exec.CommandContext(ctx, "sh", "-c", cmd).Output()
	if err != nil {
		return 0, fmt.Errorf("probe %q: %w", cmd, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	v, err := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("probe %q printed %q, not a number of KiB", cmd, first)
	}
	return v, nil
}

func options() client.Options {
	return client.Options{NoTopicAdvisories: true, ConnectTimeout: time.Minute}
}

// dialAll opens --conns connections, --dialers at a time, saying on
// stderr how it goes every tenth.
func dialAll(ctx context.Context, f *flags) ([]*client.Conn, error) {
	conns := make([]*client.Conn, f.conns)
	err := parallel(ctx, f.conns, f.dialers, "connections", func(i int) (err error) {
		conns[i], err = client.Dial(ctx, f.url, options())
		return err
	})
	open := conns[:0]
	for _, c := range conns {
		if c != nil {
			open = append(open, c)
		}
	}
	return open, err
}

// closeAll closes conns, 64 at a time.
func closeAll(conns []*client.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	parallel(ctx, len(conns), 64, "", func(i int) error {
		conns[i].Close(ctx)
		return nil
	})
}

// makeQueues makes --queues queues from --workers connections at once:
// one message sent to each, then received by a consumer of its own.
func makeQueues(ctx context.Context, f *flags) error {
	type worker struct {
		c *client.Conn
		s *client.Session
		p *client.Producer
	}
	ws := make(chan *worker, f.workers)
	var all []*worker
	defer func() {
		for _, w := range all {
			w.c.Close(context.Background())
		}
	}()
	for range f.workers {
		c, err := client.Dial(ctx, f.url, options())
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		w := &worker{c: c}
		all = append(all, w)
		if w.s, err = c.Session(ctx, client.AutoAck); err != nil {
			return err
		}
		if w.p, err = w.s.Producer(ctx, nil); err != nil {
			return err
		}
		ws <- w
	}
	body := []byte("scale")
	return parallel(ctx, f.queues, f.workers, "queues", func(i int) error {
		w := <-ws
		defer func() { ws <- w }()
		dest := client.Queue(fmt.Sprintf("scale.q%05d", i))
		m := client.NewBytesMessage(body)
		var opts []client.SendOption
		if !f.persistent {
			opts = append(opts, client.NonPersistent())
		}
		if err := w.p.Send(ctx, m, append(opts, client.To(dest))...); err != nil {
			return fmt.Errorf("send to %s: %w", dest, err)
		}
		k, err := w.s.Consumer(ctx, dest)
		if err != nil {
			return fmt.Errorf("consume %s: %w", dest, err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err = k.Receive(rctx)
		cancel()
		if cerr := k.Close(ctx); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("receive from %s: %w", dest, err)
		}
		return nil
	})
}

// parallel runs f(0) .. f(n-1), width at a time, until one fails; with a
// name it says on stderr how it goes every tenth.
func parallel(ctx context.Context, n, width int, name string, f func(i int) error) error {
	var next, done atomic.Int64
	var mu sync.Mutex
	var errs []error
	step := int64(max(n/10, 1))
	start := time.Now()
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				if d := done.Add(1); name != "" && d%step == 0 {
					fmt.Fprintf(os.Stderr, "scale: %s: %d of %d in %.1fs\n", name, d, n, time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}
