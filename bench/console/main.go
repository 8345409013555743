// Command console measures a broker's management paths for
// bench/compare-console.sh: Pier's web console in Debian's headless
// chromium (driven through chromedp), its REST API and /metrics, and the
// broker's memory and CPU while another program (a JMS queue browser, what
// ActiveMQ's browse.jsp uses) reads it. Each mode prints one line of
// key=value pairs (durations in seconds, memory in KiB, CPU of the broker
// process named by --pid from /proc/PID/stat, RSS from VmRSS). The JMS
// browser itself is BrowseTimer.java beside this file (ActiveMQ's own JMS
// client, as its console uses), run under the watch mode.
//
//	console fill --url tcp://127.0.0.1:61806 --queues 10000 --deep cb.deep --count 1000000 \
//	    --shallow cb.shallow --shallow-count 1000 --producers 8 --pid PID
//	console pages --console http://127.0.0.1:8261 --user admin --password PW \
//	    --deep cb.deep --shallow cb.shallow --repeat 10 --pid PID
//	console api --console http://127.0.0.1:8261 --user admin --password PW --deep cb.deep --pid PID
//	console metrics --console http://127.0.0.1:8261 --repeat 5 --pid PID
//	console watch --pid PID -- java -cp CP BrowseTimer --url tcp://127.0.0.1:61806 --queue cb.deep
//	console ready --console http://127.0.0.1:8261 --since-ms MS --pid PID
//
// fill makes --queues queues (cb.gGGG.qNNNNN, 100 to a group, one persistent
// message each), then sends --count persistent messages of --size bytes to
// --deep and --shallow-count to --shallow from --producers connections at
// once; each send waits for the broker's receipt (the message is stored).
// pages logs in through the console's form and times, in the page's own
// clock, navigation start → the data shown (the first row and the pager
// in the DOM, then the next animation frame): the destinations page, then
// the first browse page of --deep and of --shallow, --repeat times each,
// sampling the broker's RSS every 100 ms. api times the REST calls the
// pages make and the listing of every queue in pages of 1,000; metrics
// times GET /metrics (plain and gzip). watch runs a command while sampling
// the broker the same way and adds the figures to the command's line.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/piermq/pier/bench/internal/proc"
)

// result prints one line of key=value pairs in order.
func result(kv ...any) { fmt.Println(proc.Line(kv...)) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: console fill|pages|api|metrics|watch|ready [flags] (-h for the flags)")
		os.Exit(2)
	}
	modes := map[string]func([]string) error{
		"fill": runFill, "pages": runPages, "api": runAPI, "metrics": runMetrics, "watch": runWatch, "ready": runReady,
	}
	run, ok := modes[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "console: unknown mode %q (fill, pages, api, metrics, watch or ready)\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

// errUsage marks bad flag values.
var errUsage = errors.New("bad flags")
