package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The admin commands: queue, conn and group, over the console's REST API
// (docs/api.md). Each subcommand is a small function over adminClient; the
// tables are in admin_cmds_print.go.

// adminCommands are the commands main lists.
func adminCommands() []command {
	return []command{
		{"queue", "list, browse, purge, move, retry or delete queues (over the console's REST API)", runQueue},
		{"conn", "list or close client connections (over the console's REST API)", runConn},
		{"group", "show this broker's role and its master/slave group (group status)", runGroup},
	}
}

const adminUsage = `The console is asked over its REST API (console.listen, default
` + defaultConsole + `): --console host:port, http://host:port or https://host:port, or
--config of the broker. A broker with users asks for a login: --user and
--password, or PIER_USER and PIER_PASSWORD (better than a password on the
command line). Changes need a user of console.admin_groups.`

const queueUsage = `  pier queue list [--type queue|topic|all] [--filter TEXT] [--sort name|depth|enqueued|dequeued|consumers] [--desc] [--offset N] [--limit N]
  pier queue browse NAME [--offset N] [--limit N]
  pier queue purge NAME
  pier queue move NAME --to queue://OTHER|topic://OTHER [--ids ID,...] [--copy]
  pier queue retry NAME [--ids ID,...]     (dead letters back to where they were sent)
  pier queue delete NAME

` + adminUsage

const connCmdUsage = `  pier conn list
  pier conn close ID

` + adminUsage

const groupUsage = `  pier group status

Shows this broker's role (master, slave, replica), the master it follows,
and for a replicated group every member's state, term, indexes and lag. It
exits with status 1 when the group is degraded: a member does not answer,
or a replicated group has no master.

` + adminUsage

// subcommand is one action of queue, conn or group.
type subcommand struct {
	name string
	// args are the positional arguments it takes (their names, for
	// the usage).
	args []string
	// flags registers its own flags.
	flags func(fs *flag.FlagSet) any
	run   func(ctx context.Context, c *adminClient, args []string, opts any, out *adminOut) error
}

// adminOut is where a subcommand prints: JSON as the console answered it,
// or tables.
type adminOut struct {
	w    io.Writer
	json bool
}

// runSubcommands runs the subcommand args[0] of cmd.
func runSubcommands(ctx context.Context, cmd, usage string, subs []subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprintf(w, "usage:\n%s\n", usage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, sc := range subs {
		if sc.name != args[0] {
			continue
		}
		name := cmd + " " + sc.name
		fs := newCommandFlags(name+" "+strings.Join(sc.args, " "), usage, stderr)
		var cf consoleFlags
		cf.register(fs)
		asJSON := fs.Bool("json", false, "print the JSON the console answers")
		timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the console")
		var opts any
		if sc.flags != nil {
			opts = sc.flags(fs)
		}
		pos, err := parseInterleaved(fs, args[1:])
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return errUsage
		}
		if len(pos) != len(sc.args) {
			fmt.Fprintf(stderr, "pier %s: want %d argument(s) (%s), got %d\n", name, len(sc.args), strings.Join(sc.args, " "), len(pos))
			return errUsage
		}
		c, err := newAdminClient(&cf)
		if err != nil {
			return &subcommandError{sc.name, err}
		}
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if err := sc.run(cctx, c, pos, opts, &adminOut{w: stdout, json: *asJSON}); err != nil {
			return &subcommandError{sc.name, err}
		}
		return nil
	}
	fmt.Fprintf(stderr, "pier %s: unknown subcommand %q\n\nusage:\n%s\n", cmd, args[0], usage)
	return errUsage
}

// subcommandError is a subcommand's failure: main can name the command
// and the subcommand together ("pier queue purge: 404 no such queue
// orders"); its text alone starts with the subcommand.
type subcommandError struct {
	name string
	err  error
}

func (e *subcommandError) Error() string { return e.name + ": " + e.err.Error() }
func (e *subcommandError) Unwrap() error { return e.err }

// parseInterleaved parses flags that may come before, between or after
// the positional arguments (pier queue purge orders --console ...), and
// returns the positional ones. "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		// fs.Parse stopped at a positional argument, or after "--".
		if len(args) > 0 && args[0] != "" && !strings.HasPrefix(args[0], "-") {
			pos = append(pos, args[0])
			args = args[1:]
			continue
		}
		return append(pos, args...), nil
	}
}

// adminClient calls the console's REST API.
type adminClient struct {
	con *console
	hc  *http.Client
}

func newAdminClient(cf *consoleFlags) (*adminClient, error) {
	cf.fromEnv()
	con, err := cf.resolve()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: con.tls, Proxy: http.ProxyFromEnvironment}
	return &adminClient{con: con, hc: &http.Client{Transport: tr}}, nil
}

// apiError is an answer of the console other than success: its status and
// its {"error"} text.
type apiError struct {
	Code int
	Msg  string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Msg) }

// call makes one request (body marshalled as JSON when not nil) and, on
// success, unmarshals the answer into out (when not nil) and returns its
// bytes.
func (c *adminClient) call(ctx context.Context, method, path string, query url.Values, body, out any) ([]byte, error) {
	u := c.con.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("console %s: %w", c.con.label, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.con.user != "" || c.con.password != "" {
		req.SetBasicAuth(c.con.user, c.con.password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.unreachable(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("console %s: %s %s: %w", c.con.label, method, path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, c.refusal(resp.StatusCode, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("console %s: %s %s: %w", c.con.label, method, path, err)
		}
	}
	return data, nil
}

// unreachable explains a request that got no answer.
func (c *adminClient) unreachable(err error) error {
	var uerr *url.Error // its text repeats the URL
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return fmt.Errorf("console %s: its certificate is not trusted (give --ca-file): %w", c.con.label, err)
	}
	return fmt.Errorf("console %s unreachable (is the broker running, with console.listen there?): %w", c.con.label, err)
}

// refusal turns an error answer into an apiError, with a hint where one
// helps.
func (c *adminClient) refusal(code int, data []byte) error {
	var e struct {
		Error  string `json:"error"`
		Master string `json:"master"`
	}
	msg := firstLine(data)
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	switch {
	case code == http.StatusBadRequest && strings.Contains(msg, "HTTP request to an HTTPS server"):
		msg = "the console speaks HTTPS: give --console https://" + strings.TrimPrefix(c.con.base, "http://") + " (and --ca-file)"
	case code == http.StatusUnauthorized && c.con.user == "":
		msg += " (log in with --user and --password, or PIER_USER and PIER_PASSWORD)"
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return &apiError{Code: code, Msg: msg}
}

// queuePath is the API path of a queue (and what follows), its name
// escaped.
func queuePath(name string, rest string) string {
	return "/api/v1/queues/" + url.PathEscape(name) + rest
}
