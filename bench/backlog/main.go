// Command backlog measures what a deep queue costs a broker's memory, for
// bench/backlog.sh. Over OpenWire (package client) it runs one phase:
//
//	backlog fill  --url URL --pid PID --count 50000000 [--producers 2] [--batch 1000] [--size 100]
//	backlog drain --url URL --pid PID --count 1000000 [--size 100]
//
// fill sends --count persistent messages of --size bytes to --queue with
// nobody consuming: --producers transacted sessions, each committing every
// --batch messages (one store write a commit). drain receives --count
// messages from the head of the queue (auto acknowledge) while a producer
// sends as many persistent ones to its tail (synchronous sends), so the
// broker reads the backlog back and writes to it at once. Both sample the
// broker's resident memory (VmRSS of --pid) every 100 ms (proc.Watch),
// print a progress line every --every and, at the end, one key=value line:
// messages, seconds, msg/s, the broker's CPU time per message (µs) and its
// largest VmRSS seen (KiB).
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

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "fill" && os.Args[1] != "drain") {
		fmt.Fprintln(os.Stderr, "usage: backlog fill|drain --url URL --pid PID --count N [flags]")
		os.Exit(2)
	}
	phase := os.Args[1]
	fs := flag.NewFlagSet(phase, flag.ExitOnError)
	url := fs.String("url", "tcp://127.0.0.1:61616", "broker URL")
	var broker proc.Proc
	proc.Flags(fs, &broker)
	queue := fs.String("queue", "backlog", "queue name")
	count := fs.Int("count", 1000000, "messages")
	producers := fs.Int("producers", 2, "fill: transacted producer connections")
	batch := fs.Int("batch", 1000, "fill: messages per commit")
	size := fs.Int("size", 100, "message body size in bytes")
	every := fs.Duration("every", 10*time.Second, "how often to print progress")
	fs.Parse(os.Args[2:])
	if *count < 1 || *producers < 1 || *batch < 1 || *size < 0 {
		fmt.Fprintln(os.Stderr, "backlog: --count, --producers and --batch must be positive, --size not negative")
		os.Exit(2)
	}
	r := &run{url: *url, queue: client.Queue(*queue), body: make([]byte, *size)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := r.progress(broker, *every)
	start := time.Now()
	u, err := proc.Watch(broker, func() error {
		if phase == "fill" {
			return r.fill(ctx, *count, *producers, *batch)
		}
		return r.drain(ctx, *count)
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "backlog:", err)
		os.Exit(1)
	}
	took := time.Since(start)
	fmt.Println(proc.Line("phase", phase, "messages", r.done.Load(), "seconds", took.Seconds(),
		"msg_per_sec", float64(r.done.Load())/took.Seconds(), "cpu_us_per_msg", proc.PerOp(u.CPU, int(r.done.Load())),
		"max_rss_kb", u.RSSPeak))
}

type run struct {
	url   string
	queue *client.Destination
	body  []byte
	done  atomic.Int64 // messages sent (fill) or received (drain)
}

// progress prints the messages so far and the broker's VmRSS every d on
// standard error, until the returned function is called.
func (r *run) progress(broker proc.Proc, d time.Duration) func() {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				kb, _ := broker.RSSKB()
				fmt.Fprintf(os.Stderr, "%6.0fs %12d messages  rss %7d KiB\n", time.Since(start).Seconds(), r.done.Load(), kb)
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

func (r *run) dial(ctx context.Context, mode client.AckMode) (*client.Conn, *client.Session, error) {
	conn, err := client.Dial(ctx, r.url, client.Options{})
	if err != nil {
		return nil, nil, err
	}
	sess, err := conn.Session(ctx, mode)
	if err != nil {
		conn.Close(ctx)
		return nil, nil, err
	}
	return conn, sess, nil
}

// fill sends count messages over producers transacted sessions.
func (r *run) fill(ctx context.Context, count, producers, batch int) error {
	var next atomic.Int64
	errs := make(chan error, producers)
	for range producers {
		go func() {
			errs <- r.fillOne(ctx, &next, int64(count), batch)
		}()
	}
	var first error
	for range producers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (r *run) fillOne(ctx context.Context, next *atomic.Int64, count int64, batch int) error {
	conn, sess, err := r.dial(ctx, client.Transacted)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	prod, err := sess.Producer(ctx, r.queue)
	if err != nil {
		return err
	}
	for {
		n := 0
		for n < batch && next.Add(1) <= count {
			if err := prod.Send(ctx, client.NewBytesMessage(r.body)); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			n++
		}
		if n == 0 {
			return nil
		}
		if err := sess.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		r.done.Add(int64(n))
	}
}

// drain receives count messages from the queue's head while sending as
// many to its tail.
func (r *run) drain(ctx context.Context, count int) error {
	pconn, psess, err := r.dial(ctx, client.AutoAck)
	if err != nil {
		return err
	}
	defer pconn.Close(context.Background())
	cconn, csess, err := r.dial(ctx, client.AutoAck)
	if err != nil {
		return err
	}
	defer cconn.Close(context.Background())
	prod, err := psess.Producer(ctx, r.queue)
	if err != nil {
		return err
	}
	cons, err := csess.Consumer(ctx, r.queue)
	if err != nil {
		return err
	}
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < count; i++ {
			if err := prod.Send(ctx, client.NewBytesMessage(r.body)); err != nil {
				sent <- fmt.Errorf("send: %w", err)
				return
			}
		}
		sent <- nil
	}()
	for i := 0; i < count; i++ {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := cons.Receive(rctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("nothing received for 30 s after %d messages", i)
			}
			return fmt.Errorf("receive: %w", err)
		}
		r.done.Add(1)
	}
	return <-sent
}
