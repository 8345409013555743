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
	"strings"
	"time"
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
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: count fields after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime: fields 14 and 15 of stat(5)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(c.clkTck), nil
}

// result prints one line: the label, then key=value pairs in order.
func (c *common) result(kv ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "label=%s", c.label)
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case time.Duration:
			fmt.Fprintf(&b, " %s=%.3f", kv[i], v.Seconds())
		case float64:
			fmt.Fprintf(&b, " %s=%.1f", kv[i], v)
		default:
			fmt.Fprintf(&b, " %s=%v", kv[i], v)
		}
	}
	fmt.Println(b.String())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perOp is d in µs per op, or 0 without ops.
func perOp(d time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(ops)
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
