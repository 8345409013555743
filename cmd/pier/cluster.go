package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/replication"
)

const clusterUsage = `Shows the members of a replicated group: each one's role, Raft term,
last log index, commit and applied index, and how far it lags behind the
most advanced member. The members are read from a broker's configuration
(store.replicated.peers) or given with --peers; each is asked on its
replication port.

A replication port with mutual TLS answers only a client presenting a
certificate signed by the group's CA: with --config, the member's own
(store.replicated.tls); with --peers, give --cert, --key and --ca (they
take precedence over --config's too). The command fails when no member
answers.

  pier cluster status --config group-one-a.yaml
  pier cluster status --peers a=127.0.0.1:62611,b=127.0.0.1:62612
  pier cluster status --peers a=10.0.0.1:62621,b=10.0.0.2:62621,c=10.0.0.3:62621 \
      --cert certs/admin.crt --key certs/admin.key --ca certs/group-ca.crt`

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
	cfgPath := fs.String("config", "", "a member's YAML configuration (its store.replicated.peers)")
	peersFlag := fs.String("peers", "", "members as id=host:port,... (instead of --config)")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for each member")
	certFile := fs.String("cert", "", "a certificate signed by the group's CA (PEM), for a replication port with mutual TLS")
	keyFile := fs.String("key", "", "the key of --cert (PEM)")
	caFile := fs.String("ca", "", "the group's CA certificate (PEM)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	peers, groupTLS, err := clusterPeers(*cfgPath, *peersFlag)
	if err != nil {
		return err
	}
	if *certFile != "" || *keyFile != "" || *caFile != "" {
		groupTLS, err = loadGroupTLS(pemFile{"--cert", *certFile}, pemFile{"--key", *keyFile}, pemFile{"--ca", *caFile})
		if err != nil {
			return err
		}
	}
	rows := queryMembers(ctx, peers, groupTLS, *timeout)
	if err := printMembers(stdout, rows, *asJSON); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Error == "" {
			return nil
		}
	}
	if groupTLS == nil {
		return errors.New("no member answered; if the group's replication port uses mutual TLS, give --cert, --key and --ca (or --config of a member)")
	}
	return errors.New("no member answered")
}

// printMembers prints the rows as a table or JSON.
func printMembers(stdout io.Writer, rows []memberRow, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tTERM\tLAST\tCOMMIT\tAPPLIED\tLAG\tLEADER\tCLIENT URL")
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\tunreachable\t\t\t\t\t\t\t%s\n", r.ID, r.Address, r.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", r.ID, r.Address, r.State, r.Term,
			r.LastIndex, r.CommitIndex, r.AppliedIndex, r.Lag, r.Leader, r.ClientURL)
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
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return nil, nil, err
		}
		if cfg.Store.Kind != config.StoreReplicated {
			return nil, nil, fmt.Errorf("%s: store.kind is %q, not replicated", cfgPath, cfg.Store.Kind)
		}
		peers := map[string]string{}
		for id, u := range cfg.Store.Replicated.Peers {
			_, addr, err := config.ListenAddr(u)
			if err != nil {
				return nil, nil, fmt.Errorf("store.replicated.peers.%s: %w", id, err)
			}
			peers[id] = addr
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
	return nil, nil, errors.New("give --config FILE or --peers id=host:port,...")
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
				r.Status = replication.Status{ID: id, Address: addr}
				r.Error = err.Error()
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
