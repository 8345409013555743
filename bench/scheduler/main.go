// Command scheduler measures a broker's message scheduler (ActiveMQ's
// AMQ_SCHEDULED_DELAY) over OpenWire, for bench/compare-scheduler.sh. It
// speaks through package client, so it measures Pier and ActiveMQ alike,
// and prints one line of key=value pairs per run (durations in seconds,
// times in unix ms, CPU of the broker process named by --pid from
// /proc/PID/stat, its memory from VmRSS of /proc/PID/status).
//
//	scheduler schedule --url tcp://127.0.0.1:61616 --queue sched.a --count 100000 --producers 8 \
//	    --from 30s --window 60s --pid PID
//	scheduler receive --url tcp://127.0.0.1:61616 --queue sched.a --expect 100000 \
//	    --deadline-ms MS --ready FILE --pid PID
//	scheduler wait --addr 127.0.0.1:61616 [--http http://127.0.0.1:8161/readyz] --since-ms MS --pid PID
//
// schedule sends --count persistent messages of --size bytes, each a job
// due at a time drawn uniformly from [t0+from, t0+from+window) (t0: when
// sending starts, or --base-ms), with AMQ_SCHEDULED_DELAY set to what is
// left until then and the due time (unix ms) and the job's number in the
// properties benchDue and benchJob, from --producers connections at once.
// receive consumes them (auto ack, --prefetch) and reports, for each
// arrival, its lateness (arrival − benchDue): percentiles, the maximum,
// early arrivals, duplicates and missing job numbers. wait polls a TCP
// port and, with --http, a readiness URL until they answer and reports how
// long after --since-ms each did.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/piermq/pier/bench/internal/proc"
)

// Properties each job carries to its consumer.
const (
	propDue   = "benchDue" // unix ms the job is due at
	propJob   = "benchJob" // the job's number, 0..count-1
	propDelay = "AMQ_SCHEDULED_DELAY"
)

// result prints one line of key=value pairs in order.
func result(kv ...any) { fmt.Println(proc.Line(kv...)) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scheduler schedule|receive|wait [flags] (-h for the flags)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "schedule":
		err = runSchedule(os.Args[2:])
	case "receive":
		err = runReceive(os.Args[2:])
	case "wait":
		err = runWait(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q (schedule, receive or wait)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scheduler:", err)
		os.Exit(1)
	}
}

// errUsage marks bad flag values.
var errUsage = errors.New("bad flags")
