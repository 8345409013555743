package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
	"github.com/piermq/pier/client"
)

// fillFlags are the flags of the fill mode.
type fillFlags struct {
	url, user, password string
	prefix              string
	queues              int
	deep, shallow       string
	count, shallowCount int
	producers, size     int
	timeout             time.Duration
	broker              proc.Proc
}

// queueName is the name of the i-th of the many queues: 100 to a group,
// so that queue://PREFIX.gGGG.> selects 100 of them.
func queueName(prefix string, i int) string { return fmt.Sprintf("%s.g%03d.q%05d", prefix, i/100, i) }

func runFill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	var f fillFlags
	fs.StringVar(&f.url, "url", "tcp://127.0.0.1:61616", "broker URL")
	fs.StringVar(&f.user, "user", "", "user name (empty: none)")
	fs.StringVar(&f.password, "password", "", "password")
	fs.StringVar(&f.prefix, "prefix", "cb", "prefix of the many queues' names")
	fs.IntVar(&f.queues, "queues", 10000, "queues to make, one persistent message each")
	fs.StringVar(&f.deep, "deep", "cb.deep", "the deep queue")
	fs.IntVar(&f.count, "count", 1000000, "messages for the deep queue")
	fs.StringVar(&f.shallow, "shallow", "cb.shallow", "the shallow queue")
	fs.IntVar(&f.shallowCount, "shallow-count", 1000, "messages for the shallow queue")
	fs.IntVar(&f.producers, "producers", 8, "connections sending at once")
	fs.IntVar(&f.size, "size", 1024, "body bytes of the deep and shallow queues' messages (a BytesMessage)")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "give up after this long")
	proc.Flags(fs, &f.broker)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.queues < 0 || f.count < 0 || f.shallowCount < 0 || f.producers < 1 || f.size < 0 || f.broker.ClkTck <= 0 {
		return fmt.Errorf("%w: counts and --size must not be negative, --producers at least 1", errUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	return fill(ctx, &f)
}

// fill sends the three parts one after the other and prints how long each
// took and what the deep one cost the broker.
func fill(ctx context.Context, f *fillFlags) error {
	conns := make([]*client.Conn, 0, f.producers)
	prods := make([]*client.Producer, 0, f.producers)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, c := range conns {
			c.Close(cctx)
		}
	}()
	for range f.producers {
		c, err := client.Dial(ctx, f.url, client.Options{Username: f.user, Password: f.password, NoTopicAdvisories: true})
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		conns = append(conns, c)
		s, err := c.Session(ctx, client.AutoAck)
		if err != nil {
			return err
		}
		p, err := s.Producer(ctx, nil) // anonymous: each send names its queue
		if err != nil {
			return err
		}
		prods = append(prods, p)
	}
	body := make([]byte, f.size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	queuesTook, err := sendAll(ctx, prods, f.queues, "queues", func(i int) (*client.Destination, []byte) {
		return client.Queue(queueName(f.prefix, i)), body[:min(len(body), 64)]
	})
	if err != nil {
		return err
	}
	deep := client.Queue(f.deep)
	var deepTook time.Duration
	u, err := proc.Watch(f.broker, func() (err error) {
		deepTook, err = sendAll(ctx, prods, f.count, f.deep, func(int) (*client.Destination, []byte) { return deep, body })
		return err
	})
	if err != nil {
		return err
	}
	shallow := client.Queue(f.shallow)
	shallowTook, err := sendAll(ctx, prods, f.shallowCount, f.shallow, func(int) (*client.Destination, []byte) { return shallow, body })
	if err != nil {
		return err
	}
	result("queues", f.queues, "queues_s", queuesTook, "queues_per_sec", perSec(f.queues, queuesTook),
		"deep", f.count, "deep_s", deepTook, "deep_per_sec", perSec(f.count, deepTook),
		"deep_cpu_ms", proc.Ms(u.CPU), "deep_cpu_us_per_msg", proc.PerOp(u.CPU, f.count),
		"deep_rss_peak_kb", u.RSSPeak, "deep_rss_after_kb", u.RSSAfter, "shallow", f.shallowCount, "shallow_s", shallowTook, "producers", f.producers)
	return nil
}

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// sendAll sends n persistent messages, the i-th to what msg(i) says, from
// every producer at once (each send waits for the broker's receipt), and
// says on stderr how it goes every tenth.
func sendAll(ctx context.Context, prods []*client.Producer, n int, what string,
	msg func(i int) (*client.Destination, []byte)) (time.Duration, error) {
	var next atomic.Int64
	errs := make([]error, len(prods))
	step := max(n/10, 1)
	start := time.Now()
	var wg sync.WaitGroup
	for w, p := range prods {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				dest, body := msg(i)
				if err := p.Send(ctx, client.NewBytesMessage(body), client.To(dest)); err != nil {
					errs[w] = fmt.Errorf("send %d to %s: %w", i, dest, err)
					return
				}
				if (i+1)%step == 0 {
					fmt.Fprintf(os.Stderr, "console fill: %s: %d of %d sent in %.1fs\n", what, i+1, n, time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return time.Since(start), ctx.Err()
}
