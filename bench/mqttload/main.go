// Command mqttload measures an MQTT broker, for bench/compare-mqtt.sh. It
// speaks MQTT 3.1.1 (or 5) through Pier's codec,
// internal/protocol/mqtt/packet, with one goroutine reading each
// connection: a client library's per-message channel hand-offs would cost
// more CPU than the broker spends on a small message on this machine, and
// the client shares the cores with the broker (see docs/mqtt-bench.md).
//
// Load mode (the default) connects -subs subscribers to -topic at -qos,
// then -pubs publishers, publishes -warmup messages each and waits for
// them, then -n messages each and waits for those, and prints one
// key=value line for the -n: msg/s delivered over all subscribers (from
// the first publish to the last delivery), the publish rate, end-to-end
// latency percentiles (the send time is in the payload), messages lost,
// and with -pid the broker's CPU µs per delivered message:
//
//	mqttload -addr 127.0.0.1:1883 -pubs 1 -subs 100 -qos 1 -n 2000 -size 256 -pid PID
//
// Each PUBLISH is one write; at QoS 1 a publisher keeps at most -inflight
// unacknowledged (a run waits for every PUBACK) and subscribers
// acknowledge in batches (flushed when nothing more is buffered to read).
// A publisher never runs more than -ahead messages past its slowest
// subscriber, so a broker's queues stay bounded and the latencies are of
// delivery, not of a backlog.
//
// Idle mode opens -conns connections (-dialers at once, bound round-robin
// to the -src addresses), each a clean-session CONNECT with keep-alive
// -keepalive, waits -settle, prints the broker's RSS before and after and
// KiB per connection, holds them for -hold (0: until SIGINT or SIGTERM)
// pinging every half keep-alive, then prints how many still answer a
// PINGREQ and closes them:
//
//	mqttload -mode idle -addr 127.0.0.1:1883 -conns 10000 -pid PID -settle 5s -hold 1s
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
	"github.com/piermq/pier/internal/protocol/mqtt/packet"
)

func main() {
	if err := mainErr(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mqttload:", err)
		os.Exit(1)
	}
}

func mainErr(args []string) error {
	var (
		lc           loadConfig
		ic           idleConfig
		d            dialer
		broker       proc.Proc
		mode, src    string
		qos, version int
		keepAlive    int
	)
	fs := flag.NewFlagSet("mqttload", flag.ExitOnError)
	fs.StringVar(&mode, "mode", "load", "load or idle")
	fs.StringVar(&d.addr, "addr", "127.0.0.1:1883", "the broker's host:port")
	fs.IntVar(&version, "version", 4, "MQTT protocol level: 4 (3.1.1) or 5")
	fs.IntVar(&keepAlive, "keepalive", 60, "keep-alive in seconds")
	fs.StringVar(&src, "src", "", "comma-separated local addresses to dial from, round-robin (empty: any)")
	fs.DurationVar(&d.timeout, "dial-timeout", 30*time.Second, "TCP connect timeout")
	fs.StringVar(&lc.topic, "topic", "bench/mqttload", "topic (load)")
	fs.IntVar(&qos, "qos", 0, "QoS of publishes and subscriptions: 0 or 1 (load)")
	fs.IntVar(&lc.pubs, "pubs", 1, "publishers (load)")
	fs.IntVar(&lc.subs, "subs", 1, "subscribers (load)")
	fs.IntVar(&lc.n, "n", 20000, "messages measured, per publisher (load)")
	fs.IntVar(&lc.warmup, "warmup", 2000, "messages sent first, per publisher, not measured (load)")
	fs.IntVar(&lc.size, "size", 256, "payload bytes, at least 20 (load)")
	fs.IntVar(&lc.inflight, "inflight", 64, "unacknowledged QoS 1 PUBLISH per publisher (load)")
	fs.IntVar(&lc.ahead, "ahead", 100, "messages a publisher may be ahead of its slowest subscriber; 0: no limit (load)")
	fs.DurationVar(&lc.timeout, "timeout", 10*time.Second, "longest wait without progress (load)")
	fs.IntVar(&ic.conns, "conns", 10000, "connections (idle)")
	fs.IntVar(&ic.dialers, "dialers", 64, "connections opened at once (idle)")
	fs.DurationVar(&ic.settle, "settle", 5*time.Second, "wait before reading the broker's RSS (idle)")
	fs.DurationVar(&ic.hold, "hold", 0, "how long to hold the connections after the reading; 0: until SIGINT/SIGTERM (idle)")
	proc.Flags(fs, &broker)
	fs.Parse(args)
	if version != int(packet.Version311) && version != int(packet.Version5) {
		return fmt.Errorf("-version %d: want 4 or 5", version)
	}
	if qos != 0 && qos != 1 {
		return fmt.Errorf("-qos %d: want 0 or 1", qos)
	}
	if keepAlive < 0 || keepAlive > 65535 {
		return fmt.Errorf("-keepalive %d: want 0 to 65535", keepAlive)
	}
	d.version, d.keepAlive, lc.qos = byte(version), uint16(keepAlive), byte(qos)
	for s := range strings.SplitSeq(src, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("-src: %q is not an IP address", s)
		}
		d.src = append(d.src, ip)
	}
	lc.broker, ic.broker, ic.out = broker, broker, os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch mode {
	case "load":
		if lc.pubs < 1 || lc.subs < 1 || lc.n < 1 || lc.warmup < 0 {
			return fmt.Errorf("-pubs, -subs and -n must be at least 1, -warmup at least 0")
		}
		res, err := runLoad(ctx, d, lc)
		if err != nil {
			return err
		}
		fmt.Println(res.line(lc))
		return nil
	case "idle":
		return runIdle(ctx, d, ic)
	}
	return fmt.Errorf("-mode %q: want load or idle", mode)
}
