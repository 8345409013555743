// Command security measures what security costs a broker over OpenWire, for
// bench/compare-security.sh. It speaks through package client, so it
// measures Pier and ActiveMQ alike, and prints one line of key=value pairs
// per measurement (durations in seconds, CPU in ms or µs of the broker
// process named by --pid, read from /proc/PID/stat).
//
//	security logins --url tcp://127.0.0.1:61616 --password pw --user app --count 1000 --workers 8 --pid PID
//	security logins ... --prefix u --from 0 --count 300          # users u0..u299, each once
//	security reconnect --url 'failover:(tcp://A,tcp://B)?...' --password pw --prefix u --users 1000 \
//	    --clients 1000 --kill MASTER_PID --watch B --pid SLAVE_PID
//
// logins opens and closes --count connections (a ConnectionInfo answered
// is one login), by --workers goroutines at once. reconnect connects
// --clients failover connections, kills the master with SIGKILL and
// reports when the new master's listener (--watch) opened, when every
// connection was resumed (Options.OnResumed: the replayed login is
// written, not yet answered) and when each had a request answered after
// that (an anonymous producer: the broker has accepted the login).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
)

// common are the flags of both measurements.
type common struct {
	url, caFile, password, user, prefix, label string
	pid, clkTck                                int
	timeout                                    time.Duration
	tls                                        *tls.Config
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "tcp://127.0.0.1:61616", "broker URL (tcp://, ssl:// or failover:)")
	fs.StringVar(&c.caFile, "ca-file", "", "PEM file of the CA to trust for ssl://")
	fs.StringVar(&c.password, "password", "", "the password of every user")
	fs.StringVar(&c.user, "user", "", "log in as this user every time")
	fs.StringVar(&c.prefix, "prefix", "", "log in as PREFIX0, PREFIX1, ... instead of --user")
	fs.StringVar(&c.label, "label", "", "printed first on the result line")
	fs.IntVar(&c.pid, "pid", 0, "the broker process whose CPU time is reported (0: none)")
	fs.IntVar(&c.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
}

// check validates the flags and loads the CA.
func (c *common) check() error {
	if (c.user == "") == (c.prefix == "") {
		return errors.New("give exactly one of --user and --prefix")
	}
	if c.clkTck <= 0 {
		return errors.New("--clk-tck must be positive")
	}
	if c.caFile == "" {
		return nil
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no PEM certificate", c.caFile)
	}
	c.tls = &tls.Config{RootCAs: pool}
	return nil
}

// userAt is the user of the i-th login.
func (c *common) userAt(i int) string {
	if c.prefix == "" {
		return c.user
	}
	return c.prefix + strconv.Itoa(i)
}

// cpu returns the CPU time of the --pid broker so far, or 0 without --pid.
func (c *common) cpu() (time.Duration, error) { return c.cpuOf(c.pid) }

// cpuOf returns the CPU time (user + system) that process pid has used, or
// 0 for pid 0.
func (c *common) cpuOf(pid int) (time.Duration, error) {
	return proc.Proc{PID: pid, ClkTck: c.clkTck}.CPU()
}

// result prints one line: the label, then key=value pairs in order.
func (c *common) result(kv ...any) {
	fmt.Println(proc.Line(append([]any{"label", c.label}, kv...)...))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: security logins|reconnect [flags] (-h for the flags)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "logins":
		err = runLogins(os.Args[2:])
	case "reconnect":
		err = runReconnect(os.Args[2:])
	default:
		err = fmt.Errorf("unknown measurement %q (logins or reconnect)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "security:", err)
		os.Exit(1)
	}
}
