package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/piermq/pier/internal/config"
)

// consoleMember is a member of a shared-directory or SQL group, asked on
// its console port.
type consoleMember struct {
	id      string
	console *console
}

// consoleRow is one such member's status as printed.
type consoleRow struct {
	ID      string `json:"id"`
	Console string `json:"console"`
	// Role is master (it serves clients), standby (it is up and waits to
	// be master) or unreachable.
	Role  string `json:"role"`
	Error string `json:"error,omitempty"`
}

// consoleMembers returns the members to ask on their console port: those
// of --consoles, or of configurations of a shared-directory or SQL group
// (nil, nil for a replicated group's configuration, which is asked on its
// replication port). caFile is trusted for HTTPS consoles of --consoles.
func consoleMembers(configs []string, consoles, caFile string) ([]consoleMember, error) {
	if consoles != "" {
		if len(configs) > 0 {
			return nil, errors.New("give --config or --consoles, not both")
		}
		var ms []consoleMember
		for _, p := range strings.Split(consoles, ",") {
			id, addr, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || id == "" || addr == "" {
				return nil, fmt.Errorf("--consoles: %q is not id=host:port", p)
			}
			cf := consoleFlags{console: addr}
			if caFile != "" && strings.HasPrefix(strings.ToLower(addr), "https://") {
				cf.tls.caFile = caFile
			}
			c, err := cf.resolve()
			if err != nil {
				return nil, fmt.Errorf("--consoles: %s: %w", id, err)
			}
			ms = append(ms, consoleMember{id, c})
		}
		return ms, nil
	}
	var ms []consoleMember
	for i, path := range configs {
		cfg, err := readConfig(path)
		if err != nil {
			return nil, err
		}
		if cfg.Store.Kind == config.StoreReplicated {
			if i > 0 || len(configs) > 1 {
				return nil, fmt.Errorf("%s: a replicated group's members are read from one configuration (store.replicated.peers); give one --config", path)
			}
			return nil, nil
		}
		c, err := (&consoleFlags{cfgPath: path}).resolve()
		if err != nil {
			return nil, err
		}
		id := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		ms = append(ms, consoleMember{id, c})
	}
	return ms, nil
}

// consoleStatus asks every member whether it serves clients, prints the
// answers, and returns an error when the group is degraded.
func consoleStatus(ctx context.Context, stdout io.Writer, members []consoleMember, f *clusterFlags) error {
	rows := make([]consoleRow, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			rows[i] = consoleRow{ID: m.id, Console: m.console.label}
			rows[i].Role, rows[i].Error = m.console.role(qctx)
		})
	}
	wg.Wait()
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	if err := printConsoleRows(stdout, rows, f.asJSON); err != nil {
		return err
	}
	var masters, down []string
	for _, r := range rows {
		switch r.Role {
		case "master":
			masters = append(masters, r.ID)
		case "unreachable":
			down = append(down, r.ID)
		}
	}
	var problems []string
	if len(down) > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d members do not answer (%s)", len(down), len(rows), strings.Join(down, ", ")))
	}
	switch {
	case len(masters) == 0:
		problems = append(problems, "no master serves clients")
	case len(masters) > 1:
		problems = append(problems, fmt.Sprintf("%d members serve as master (%s)", len(masters), strings.Join(masters, ", ")))
	}
	if len(problems) > 0 {
		return fmt.Errorf("the group is degraded: %s", strings.Join(problems, "; "))
	}
	return nil
}

// role asks the console whether its broker is master: /readyz answers
// 200 when it serves clients, 503 when it is up and stands by (/healthz
// 200).
func (c *console) role(ctx context.Context) (role, why string) {
	code, err := c.probe(ctx, "/readyz")
	switch {
	case err != nil:
		return "unreachable", plainError(err)
	case code == http.StatusOK:
		return "master", ""
	case code != http.StatusServiceUnavailable:
		return "unreachable", fmt.Sprintf("GET /readyz: %d %s", code, http.StatusText(code))
	}
	if code, err = c.probe(ctx, "/healthz"); err != nil || code != http.StatusOK {
		if err == nil {
			err = fmt.Errorf("GET /healthz: %d %s", code, http.StatusText(code))
		}
		return "unreachable", plainError(err)
	}
	return "standby", ""
}

// printConsoleRows prints the rows as a table or JSON.
func printConsoleRows(stdout io.Writer, rows []consoleRow, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCONSOLE\tROLE\tERROR")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Console, r.Role, r.Error)
	}
	return tw.Flush()
}
