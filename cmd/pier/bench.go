package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/piermq/pier/client"
	"github.com/piermq/pier/internal/bench"
)

const benchUsage = `Measures throughput and end-to-end latency over OpenWire (tcp://, ssl://
and failover: URLs, the default) or STOMP (stomp:// and stomp+ssl:// URLs):
--producers and --consumers connections on one destination, --count
messages in total (or for --duration), optionally at a steady total --rate
for latency percentiles. Persistent sends wait for the broker, like
synchronous JMS sends. --consume-url puts the consumers on another broker
than the producers, e.g. across a network of brokers (the TLS flags and
the login apply to both). A progress line is drawn on stderr when it is a
terminal (or with --progress); the result goes to stdout as text or, with
--json, JSON.

With --disk DIR it measures the disk instead of a broker: one writer
appends --size byte records (default 1 KiB) to a new temporary file in DIR,
one write and one fdatasync per record, --count records (default 3000) or
for --duration, then removes the file; with --overwrite it zero-fills and
syncs the file first and overwrites it (as the journal writes segments
made ahead of time). It prints the syncs per second, the
p50/p99 latency per sync and this process's CPU time (user + system) per
sync; with --json, a JSON object (syncs_per_sec, p50_us, p99_us,
cpu_us_per_sync, ...). The bench/compare-*.sh scripts run it to show what
the disk they ran on allowed. No other flag applies.` + connUsage

// runBench implements `pier bench`.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("bench", benchUsage, stderr)
	var conn connFlags
	conn.register(fs, "queue://pier.bench")
	var cfg bench.Config
	fs.IntVar(&cfg.Producers, "producers", 1, "producer connections")
	fs.IntVar(&cfg.Consumers, "consumers", 1, "consumer connections (0 = send only)")
	fs.IntVar(&cfg.Size, "size", 1024, "message body size in bytes")
	fs.BoolVar(&cfg.Persistent, "persistent", true, "persistent messages (each send waits for the broker)")
	fs.IntVar(&cfg.Count, "count", 0, "messages in total over all producers (default 10000 unless --duration)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "send for this long instead of a count")
	fs.Float64Var(&cfg.Rate, "rate", 0, "total messages per second (0 = as fast as possible)")
	fs.IntVar(&cfg.Prefetch, "prefetch", 0, "consumer prefetch (0 = the default)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 0, "give up when consumers get nothing for this long after sending (default 10s)")
	consumeURL := fs.String("consume-url", "", "broker URL of the consumers, in --url's protocol (default: --url)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	progress := fs.Bool("progress", false, "draw the progress line even when stderr is not a terminal")
	verbose := fs.Bool("v", false, "log connection events to stderr")
	disk := fs.String("disk", "", "measure the disk's sync rate in this directory instead of a broker (see above)")
	overwrite := fs.Bool("overwrite", false, "with --disk: overwrite a zero-filled file instead of appending")
	if done, err := parseCommandFlags(fs, args); done {
		return err
	}
	if *disk != "" {
		return runDiskProbe(ctx, fs, bench.DiskConfig{Dir: *disk, Count: cfg.Count, Duration: cfg.Duration, Size: cfg.Size, Overwrite: *overwrite}, *asJSON, stdout)
	}
	if *overwrite {
		return errors.New("--overwrite applies only with --disk")
	}
	if cfg.Size < 0 || cfg.Count < 0 || cfg.Duration < 0 || cfg.Rate < 0 {
		return errors.New("--size, --count, --duration and --rate must not be negative")
	}
	e, err := conn.resolve()
	if err != nil {
		return err
	}
	cfg.Destination = e.dest
	if *progress || isTerminal(stderr) {
		cfg.Progress = stderr
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil)).With("component", "bench")
	}
	cfg.Logger = log
	cfg.Transport = benchTransport(&conn, e, log, stderr)
	if *consumeURL != "" {
		if cfg.Transport, err = withConsumeURL(cfg.Transport, conn, *consumeURL, e, log, stderr); err != nil {
			return err
		}
	}
	res, err := bench.Run(ctx, cfg)
	if aerr := conn.async.err(); aerr != nil {
		err = errors.Join(err, aerr) // sends refused without waiting: the result lacks them
	}
	if res == nil {
		return err
	}
	return writeReport(res, err, *asJSON, stdout, stderr)
}

// report is a bench result: Result or DiskResult.
type report interface {
	WriteJSON(io.Writer) error
	WriteText(io.Writer) error
}

// writeReport writes res to stdout, as JSON or text, after saying on
// stderr that it is partial when err says the run was interrupted.
func writeReport(res report, err error, asJSON bool, stdout, stderr io.Writer) error {
	if err != nil {
		fmt.Fprintf(stderr, "interrupted (%v); partial result:\n", err)
	}
	if asJSON {
		return res.WriteJSON(stdout)
	}
	return res.WriteText(stdout)
}

// runDiskProbe implements `pier bench --disk`, which takes only the flags
// of a DiskConfig and --json.
func runDiskProbe(ctx context.Context, fs *flag.FlagSet, cfg bench.DiskConfig, asJSON bool, stdout io.Writer) error {
	var other []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "disk", "count", "duration", "size", "json", "overwrite":
		default:
			other = append(other, "--"+f.Name)
		}
	})
	if len(other) > 0 {
		return fmt.Errorf("--disk takes only --count, --duration, --size, --overwrite and --json, not %s", strings.Join(other, ", "))
	}
	res, err := bench.Disk(ctx, cfg)
	if res == nil {
		return err
	}
	return writeReport(res, err, asJSON, stdout, fs.Output())
}

// benchTransport returns the bench transport for e's protocol.
func benchTransport(conn *connFlags, e *endpoint, log *slog.Logger, stderr io.Writer) bench.Transport {
	if e.stomp() {
		return &bench.STOMP{Addr: e.stompAddr, Login: e.stompCred.login, Passcode: e.stompCred.passcode, TLS: e.tls, Logger: log}
	}
	return &bench.OpenWire{Dial: func(ctx context.Context) (*client.Conn, error) {
		return conn.dialOpenWire(ctx, e, stderr)
	}}
}

// withConsumeURL returns a transport that opens producers through t and
// consumers on the broker of url, which must speak e's protocol (the result
// names one).
func withConsumeURL(t bench.Transport, conn connFlags, url string, e *endpoint, log *slog.Logger, stderr io.Writer) (bench.Transport, error) {
	conn.url = url
	ce, err := conn.resolveURL()
	if err != nil {
		return nil, fmt.Errorf("--consume-url: %w", err)
	}
	if ce.stomp() != e.stomp() {
		return nil, errors.New("--url and --consume-url must both be OpenWire or both be STOMP")
	}
	return splitTransport{Transport: t, consumers: benchTransport(&conn, ce, log, stderr)}, nil
}

// splitTransport opens producers through the embedded transport and
// consumers through another one.
type splitTransport struct {
	bench.Transport
	consumers bench.Transport
}

func (s splitTransport) Consumer(ctx context.Context, role string, dest bench.Destination, prefetch int, deliver func(bench.Delivery)) (bench.Consumer, error) {
	return s.consumers.Consumer(ctx, role, dest, prefetch, deliver)
}
