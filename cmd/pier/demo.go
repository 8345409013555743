package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const demoUsage = `Starts the seed's topology on this machine, in the foreground: two
replicated groups of three brokers (group-one and group-two), each
bridged to the other by a static: network connector, as
examples/seed/*.yaml describe them. It prints the failover URLs and the
consoles, and stops every broker on Ctrl-C. Each broker is a pier serve
process of its own, logging to DIR/logs; data is kept in DIR/data.

  pier demo                 # in a temporary directory, removed on exit
  pier demo --dir ./demo    # kept, so a second run finds its messages again`

// demoMember is one broker of the demo: the values that differ between
// the six, as in examples/seed/.
type demoMember struct {
	group, id                string
	openwire, stomp, console int
	replication              int
	peers                    [3]int
	otherGroup               [3]int
}

// demoMembers are the six brokers, on the ports of examples/seed/.
func demoMembers() []demoMember {
	var out []demoMember
	for g, group := range []string{"group-one", "group-two"} {
		for i, m := range []string{"a", "b", "c"} {
			d := demoMember{group: group, id: group + "-" + m,
				openwire: 53511 + 20*g + i, stomp: 53611 + 20*g + i,
				console: 8161 + 10*g + i, replication: 62611 + 20*g + i}
			for j := range 3 {
				d.peers[j] = 62611 + 20*g + j
				d.otherGroup[j] = 53511 + 20*(1-g) + j
			}
			out = append(out, d)
		}
	}
	return out
}

// yaml is the member's configuration, its data under dataDir.
func (d demoMember) yaml(dataDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, written by pier demo (examples/seed/%s.yaml with its data in the demo's directory).\n", d.id, d.id)
	fmt.Fprintf(&b, "broker:\n  name: %s\n  data_dir: %s\n", d.group, strconv.Quote(filepath.Join(dataDir, d.id)))
	fmt.Fprintf(&b, "transports:\n  openwire: tcp://127.0.0.1:%d\n  stomp: stomp://127.0.0.1:%d\n", d.openwire, d.stomp)
	fmt.Fprintf(&b, "console:\n  listen: 127.0.0.1:%d\n", d.console)
	fmt.Fprintf(&b, "store:\n  kind: replicated\n  replicated:\n    node_id: %s\n    bind: tcp://127.0.0.1:%d\n    peers:\n", d.id, d.replication)
	for j, m := range []string{"a", "b", "c"} {
		fmt.Fprintf(&b, "      %s-%s: tcp://127.0.0.1:%d\n", d.group, m, d.peers[j])
	}
	fmt.Fprintf(&b, "network_connectors:\n  - name: to-other-group\n    uri: static:(tcp://127.0.0.1:%d,tcp://127.0.0.1:%d,tcp://127.0.0.1:%d)\n    duplex: false\n    network_ttl: 1\n",
		d.otherGroup[0], d.otherGroup[1], d.otherGroup[2])
	return b.String()
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier demo [flags]\n\n%s\n\nFlags:\n", demoUsage)
		fs.PrintDefaults()
	}
	dir := fs.String("dir", "", "directory for the configurations, logs and data (default: a temporary one, removed on exit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pier demo: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("pier demo: %w", err)
	}
	members := demoMembers()
	if err := demoPortsFree(members); err != nil {
		return err
	}
	root := *dir
	if root == "" {
		if root, err = os.MkdirTemp("", "pier-demo-"); err != nil {
			return fmt.Errorf("pier demo: %w", err)
		}
		defer os.RemoveAll(root)
	}
	if root, err = filepath.Abs(root); err != nil {
		return fmt.Errorf("pier demo: %w", err)
	}
	for _, sub := range []string{"logs", "data"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o755); err != nil {
			return fmt.Errorf("pier demo: %w", err)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var procs []*exec.Cmd
	defer func() {
		mu.Lock()
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		mu.Unlock()
		wg.Wait()
	}()
	for _, m := range members {
		cfg := filepath.Join(root, m.id+".yaml")
		if err := os.WriteFile(cfg, []byte(m.yaml(filepath.Join(root, "data"))), 0o644); err != nil {
			return fmt.Errorf("pier demo: %w", err)
		}
		logf, err := os.OpenFile(filepath.Join(root, "logs", m.id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("pier demo: %w", err)
		}
		cmd := exec.Command(self, "serve", "--config", cfg)
		cmd.Stdout, cmd.Stderr = logf, logf
		// Own process group: Ctrl-C reaches the demo, which stops the
		// brokers in order rather than all at once mid-write.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("pier demo: starting %s: %w", m.id, err)
		}
		mu.Lock()
		procs = append(procs, cmd)
		mu.Unlock()
		wg.Add(1)
		go func(m demoMember) {
			defer wg.Done()
			err := cmd.Wait()
			logf.Close()
			if ctx.Err() == nil {
				fmt.Fprintf(stderr, "pier demo: %s exited (%v); its log: %s\n", m.id, err, logf.Name())
			}
		}(m)
	}
	for _, g := range []string{"group-one", "group-two"} {
		if err := demoAwaitMaster(ctx, members, g); err != nil {
			return fmt.Errorf("pier demo: %w (logs in %s)", err, filepath.Join(root, "logs"))
		}
	}
	fmt.Fprintln(stdout, "Pier demo: two replicated groups of three brokers, each bridged to the other (the seed's topology).")
	for _, g := range []string{"group-one", "group-two"} {
		var urls, consoles []string
		for _, m := range members {
			if m.group == g {
				urls = append(urls, fmt.Sprintf("tcp://127.0.0.1:%d", m.openwire))
				consoles = append(consoles, fmt.Sprintf("http://127.0.0.1:%d", m.console))
			}
		}
		fmt.Fprintf(stdout, "\n%s\n  clients:  failover:(%s)?randomize=false\n  consoles: %s\n", g, strings.Join(urls, ","), strings.Join(consoles, " "))
	}
	fmt.Fprintf(stdout, "\nConfigurations, logs and data: %s\n", root)
	fmt.Fprintf(stdout, "Try, in another terminal:\n  pier consume --url 'failover:(tcp://127.0.0.1:53531,tcp://127.0.0.1:53532,tcp://127.0.0.1:53533)' --destination queue://demo --count 1 &\n")
	fmt.Fprintf(stdout, "  pier produce --url 'failover:(tcp://127.0.0.1:53511,tcp://127.0.0.1:53512,tcp://127.0.0.1:53513)' --destination queue://demo --body hello\n")
	fmt.Fprintf(stdout, "  pier cluster status --config %s\n", filepath.Join(root, "group-one-a.yaml"))
	fmt.Fprintln(stdout, "Ctrl-C stops every broker.")
	<-ctx.Done()
	fmt.Fprintln(stdout, "pier demo: stopping the brokers")
	return nil
}

// demoPortsFree checks every port before anything starts, so that a demo
// already running (or a broker on a seed port) is named rather than six
// brokers failing one by one.
func demoPortsFree(members []demoMember) error {
	for _, m := range members {
		for _, p := range []int{m.openwire, m.stomp, m.console, m.replication} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				return fmt.Errorf("pier demo: port %d (%s) is in use: is a demo or another broker running? (%v)", p, m.id, err)
			}
			ln.Close()
		}
	}
	return nil
}

// demoAwaitMaster waits until one member of the group is ready (the
// master: its console's /readyz answers 200).
func demoAwaitMaster(ctx context.Context, members []demoMember, group string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range members {
			if m.group != group {
				continue
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/readyz", m.console), nil)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s elected no master within 60 s", group)
}
