package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication"
)

const clusterUsage = `Shows the members of a master/slave group and exits with status 1 when the
group is degraded: no master, more than one, or a member that does not
answer.

A replicated group (store.kind replicated): each member's role, Raft term,
last log index, commit and applied index, and how far it lags behind the
most advanced member. The members are read from a member's configuration
(store.replicated.peers) or given with --peers; each is asked on its
replication port. A replication port with mutual TLS answers only a client
presenting a certificate signed by the group's CA: with --config, the
member's own (store.replicated.tls); with --peers, give --cert, --key and
--ca (they take precedence over --config's too).

A shared-directory or SQL group (store.kind journal or sql): each member
is asked on its console port (console.listen) whether it serves clients
(/readyz): the master does, the others stand by. Give every member's
configuration (--config, once per member) or its console (--consoles).

  pier cluster status --config group-one-a.yaml
  pier cluster status --peers a=127.0.0.1:62611,b=127.0.0.1:62612 --json
  pier cluster status --peers a=10.0.0.1:62621,b=10.0.0.2:62621,c=10.0.0.3:62621 \
      --cert certs/admin.crt --key certs/admin.key --ca certs/group-ca.crt
  pier cluster status --config shared-dir-a.yaml --config shared-dir-b.yaml
  pier cluster status --consoles a=127.0.0.1:8193,b=https://10.0.0.2:8162 --ca certs/ca.crt`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// clusterFlags are cluster status's flags after parsing.
type clusterFlags struct {
	configs                   stringList
	peers, consoles           string
	asJSON                    bool
	timeout                   time.Duration
	certFile, keyFile, caFile string
}

func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stdout, "Usage: pier cluster status [flags]\n\n%s\n", clusterUsage)
			return nil
		}
		fmt.Fprintf(stderr, "Usage: pier cluster status [flags]\n\n%s\n", clusterUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("cluster status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier cluster status [flags]\n\n%s\n\nFlags:\n", clusterUsage)
		fs.PrintDefaults()
	}
	var f clusterFlags
	fs.Var(&f.configs, "config", "a member's YAML configuration: one of a replicated group (its store.replicated.peers), or each member of a shared-directory or SQL group (repeat)")
	fs.StringVar(&f.peers, "peers", "", "the replication ports of a replicated group's members as id=host:port,... (instead of --config)")
	fs.StringVar(&f.consoles, "consoles", "", "the consoles of a shared-directory or SQL group's members as id=host:port,... (http:// or https:// URLs too)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Second, "how long to wait for each member")
	fs.StringVar(&f.certFile, "cert", "", "a certificate signed by the group's CA (PEM), for a replication port with mutual TLS")
	fs.StringVar(&f.keyFile, "key", "", "the key of --cert (PEM)")
	fs.StringVar(&f.caFile, "ca", "", "the group's CA certificate (PEM); with --consoles, the CA of HTTPS consoles")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pier cluster status: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	members, err := consoleMembers(f.configs, f.consoles, f.caFile)
	if err != nil {
		return err
	}
	if members != nil {
		if f.peers != "" {
			return errors.New("--peers names a replicated group's members, --consoles those of a shared-directory or SQL group: give one")
		}
		return consoleStatus(ctx, stdout, members, &f)
	}
	return replicatedStatus(ctx, stdout, &f)
}

// replicatedStatus asks each member of a replicated group on its
// replication port, prints the answers, and returns an error when the
// group is degraded.
func replicatedStatus(ctx context.Context, stdout io.Writer, f *clusterFlags) error {
	cfgPath := ""
	if len(f.configs) > 0 {
		cfgPath = f.configs[0]
	}
	peers, groupTLS, err := clusterPeers(cfgPath, f.peers)
	if err != nil {
		return err
	}
	if f.certFile != "" || f.keyFile != "" || f.caFile != "" {
		groupTLS, err = loadGroupTLS(pemFile{"--cert", f.certFile}, pemFile{"--key", f.keyFile}, pemFile{"--ca", f.caFile})
		if err != nil {
			return err
		}
	}
	rows := queryMembers(ctx, peers, groupTLS, f.timeout)
	if err := printMembers(stdout, rows, f.asJSON); err != nil {
		return err
	}
	problems := groupProblems(rows)
	if len(problems) == 0 {
		return nil
	}
	if answered(rows) == 0 {
		switch {
		case groupTLS == nil:
			return errors.New("no member answered; if the group's replication port uses mutual TLS, give --cert, --key and --ca (or --config of a member)")
		case f.certFile == "":
			return errors.New("no member answered; a replication port with mutual TLS asks for a certificate of its group: give --cert and --key too")
		}
		return errors.New("no member answered")
	}
	return fmt.Errorf("the group is degraded: %s", strings.Join(problems, "; "))
}

// answered counts the members that answered.
func answered(rows []memberRow) int {
	n := 0
	for _, r := range rows {
		if r.Error == "" {
			n++
		}
	}
	return n
}

// groupProblems says what is wrong with a replicated group: members that
// do not answer, no leader, or members that disagree about it.
func groupProblems(rows []memberRow) []string {
	var problems, down []string
	leaders := map[string]bool{}
	for _, r := range rows {
		switch {
		case r.Error != "":
			down = append(down, r.ID)
		case r.State == "Leader":
			leaders[r.ID] = true
		}
	}
	if len(down) > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d members do not answer (%s)", len(down), len(rows), strings.Join(down, ", ")))
	}
	switch {
	case len(leaders) == 0 && len(down) < len(rows):
		problems = append(problems, "no master (an election is under way, or no quorum)")
	case len(leaders) == 0:
		problems = append(problems, "no master")
	case len(leaders) > 1:
		problems = append(problems, fmt.Sprintf("%d members say they lead (%s)", len(leaders), strings.Join(slices.Sorted(maps.Keys(leaders)), ", ")))
	}
	return problems
}

// printMembers prints the rows as a table or JSON; the table has an ERROR
// column when a member did not answer.
func printMembers(stdout io.Writer, rows []memberRow, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	withErr := answered(rows) < len(rows)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	head := "ID\tADDRESS\tSTATE\tTERM\tLAST\tCOMMIT\tAPPLIED\tLAG\tLEADER\tCLIENT URL"
	if withErr {
		head += "\tERROR"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t\t\t%s\n", r.ID, r.Address, r.State, r.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s", r.ID, r.Address, r.State, r.Term,
			r.LastIndex, r.CommitIndex, r.AppliedIndex, r.Lag, r.Leader, r.ClientURL)
		if withErr {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// memberRow is one member's status as printed.
type memberRow struct {
	replication.Status
	Lag   uint64 `json:"lag"`
	Error string `json:"error,omitempty"`
}

// clusterPeers reads the members from a configuration or a --peers list;
// a configuration gives the member's replication TLS too (nil if none).
func clusterPeers(cfgPath, list string) (map[string]string, *replication.TLS, error) {
	switch {
	case cfgPath != "" && list != "":
		return nil, nil, errors.New("give --config or --peers, not both")
	case cfgPath != "":
		cfg, err := readConfig(cfgPath)
		if err != nil {
			return nil, nil, err
		}
		if cfg.Store.Kind != config.StoreReplicated {
			return nil, nil, fmt.Errorf("%s: store.kind is %q, not replicated", cfgPath, cfg.Store.Kind)
		}
		urls, err := configuredPeers(cfg)
		if err != nil {
			return nil, nil, err
		}
		peers, err := peerAddrs(urls, "store.replicated.peers")
		if err != nil {
			return nil, nil, err
		}
		t, err := replicationTLS(cfg.Store.Replicated.TLS)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", cfgPath, err)
		}
		return peers, t, nil
	case list != "":
		peers := map[string]string{}
		for _, p := range strings.Split(list, ",") {
			id, addr, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || id == "" || addr == "" {
				return nil, nil, fmt.Errorf("--peers: %q is not id=host:port", p)
			}
			peers[id] = strings.TrimPrefix(addr, "tcp://")
		}
		return peers, nil, nil
	}
	return nil, nil, errors.New("give --config FILE, --peers id=host:port,... (a replicated group) or --consoles id=host:port,... (a shared-directory or SQL group)")
}

// queryMembers asks every member for its status, in parallel (with the
// group's TLS, nil for plain TCP), and works out each one's lag behind the
// most advanced applied index.
func queryMembers(ctx context.Context, peers map[string]string, t *replication.TLS, timeout time.Duration) []memberRow {
	rows := make([]memberRow, 0, len(peers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, addr := range peers {
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			st, err := replication.QueryStatus(qctx, addr, t)
			r := memberRow{Status: st}
			if err != nil {
				r.Status = replication.Status{ID: id, Address: addr, State: "unreachable"}
				r.Error = memberError(addr, err)
			}
			mu.Lock()
			rows = append(rows, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	var top uint64
	for _, r := range rows {
		top = max(top, r.AppliedIndex)
	}
	for i := range rows {
		if rows[i].Error == "" {
			rows[i].Lag = top - rows[i].AppliedIndex
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows
}

// memberError says why a member did not answer, without the address the
// row shows already.
func memberError(addr string, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (not running?)"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	}
	msg := err.Error()
	for _, p := range []string{"replication: status of " + addr + ": ", "TLS handshake with " + addr + ": ", "dial tcp " + addr + ": "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return plainError(errors.New(msg))
}
