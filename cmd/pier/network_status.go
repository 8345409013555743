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
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/piermq/pier/internal/network"
)

const networkUsage = `Shows the network bridges of a broker: for each connector and remote
broker, its state and since when, the remote consumers it forwards for
(demand), its subscriptions here, and the messages forwarded and sent. The
broker is asked on its console port (console.listen); only the master runs
bridges: a slave says so, and names the master when it knows it. A bridge
to a member of a group that another bridge of its connector serves already
stands by (state standby): that is normal for a static: list of a group's
members.

  pier network status
  pier network status --config pier.yaml
  pier network status --console 127.0.0.1:8161 --json
  pier network status --console https://broker.example:8162 --ca-file ca.crt --user admin

A console with TLS (tls.cert_file in the broker's configuration) speaks
HTTPS: give --console https://HOST:PORT, or --config (HTTPS when the
configuration has tls.cert_file; its tls.ca_file is trusted unless
--ca-file says otherwise); --ca-file or --insecure-skip-verify alone imply
HTTPS too. A broker with users asks for a login: --user and --password,
or the environment variables PIER_USER and PIER_PASSWORD (better than a
password on the command line).`

// defaultConsole is where the console listens unless configured otherwise.
const defaultConsole = "127.0.0.1:8161"

// consoleFlags are how a command reaches the console (network status, the
// admin commands).
type consoleFlags struct {
	console, cfgPath string
	user, password   string
	tls              tlsFlags
}

// register adds the flags to fs.
func (cf *consoleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.console, "console", "", "the broker's console as host:port, http://host:port or https://host:port (default "+defaultConsole+")")
	fs.StringVar(&cf.cfgPath, "config", "", "the broker's YAML configuration (its console.listen, and tls for HTTPS)")
	fs.StringVar(&cf.user, "user", "", "user name to log in to the console with (default: $PIER_USER)")
	fs.StringVar(&cf.password, "password", "", "password to log in with (default: $PIER_PASSWORD, which is safer)")
	cf.tls.register(fs, "an HTTPS console")
}

// fromEnv fills the user and password not given as flags from PIER_USER
// and PIER_PASSWORD.
func (cf *consoleFlags) fromEnv() {
	if cf.user == "" {
		cf.user = os.Getenv("PIER_USER")
	}
	if cf.password == "" {
		cf.password = os.Getenv("PIER_PASSWORD")
	}
}

func runNetwork(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		args = []string{"status", "--help"} // the one subcommand's usage and flags
	}
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintf(stderr, "usage: pier network status [flags]\n\n%s\n", networkUsage)
		return errUsage
	}
	fs := newCommandFlags("network status", networkUsage, stderr)
	var cf consoleFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the JSON the console returns")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the console")
	if done, err := parseCommandFlags(fs, args[1:]); done {
		return err
	}
	cf.fromEnv()
	con, err := cf.resolve()
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	body, err := con.fetch(qctx, "/network")
	if err != nil {
		return err
	}
	var st struct {
		Bridges []network.Status `json:"bridges"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("console %s: /network: %w", con.label, err)
	}
	// Only a master runs bridges: a member that is not says so, and who
	// the master is when it knows, rather than show an empty table.
	var standby *memberRole
	if len(st.Bridges) == 0 {
		standby = con.standby(qctx)
	}
	if *asJSON {
		if standby == nil {
			_, err := stdout.Write(body)
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Bridges []network.Status `json:"bridges"`
			*memberRole
		}{st.Bridges, standby})
	}
	if standby != nil {
		fmt.Fprintln(stdout, standby.sentence())
		return nil
	}
	return printBridges(stdout, st.Bridges)
}

// memberRole is what a member that does not serve clients knows of its
// group: its role and the master, when known.
type memberRole struct {
	Role   string `json:"role"`             // slave or replica
	Master string `json:"master,omitempty"` // the master's id or address
	Kind   string `json:"group,omitempty"`  // shared-directory, sql or replicated
}

// sentence says that the broker is not the master, and where it is.
func (r *memberRole) sentence() string {
	s := "this broker is a " + r.Role + " (it stands by and runs no bridges); "
	if r.Master != "" {
		return s + "the master is " + r.Master + ": ask its console"
	}
	return s + "ask the master's console (pier cluster status shows which member is master)"
}

// standby returns the role of a broker that is not serving clients, or
// nil when it is (or its console does not say): from the group the
// console reports (GET /api/v1/group) when it can, else from /readyz.
func (c *console) standby(ctx context.Context) *memberRole {
	if code, body, err := c.get(ctx, "/api/v1/group"); err == nil && code == http.StatusOK {
		var g struct {
			Kind, Role, Master string
		}
		if json.Unmarshal(body, &g) == nil && g.Role != "" {
			if g.Role == "master" {
				return nil
			}
			return &memberRole{Role: g.Role, Master: g.Master, Kind: g.Kind}
		}
	}
	if code, err := c.probe(ctx, "/readyz"); err == nil && code == http.StatusServiceUnavailable {
		return &memberRole{Role: "slave"}
	}
	return nil
}

// console is a resolved console to ask.
type console struct {
	base           string // scheme://host:port
	label          string // how messages name it
	tls            *tls.Config
	user, password string
}

// resolve picks the console from --console, from --config's
// console.listen, or the default, and how to talk to it.
func (cf *consoleFlags) resolve() (*console, error) {
	c := &console{user: cf.user, password: cf.password}
	scheme, addr := "", cf.console
	var caFile string
	switch {
	case cf.console != "" && cf.cfgPath != "":
		return nil, errors.New("give --console or --config, not both")
	case cf.console != "":
		if s, rest, ok := strings.Cut(cf.console, "://"); ok {
			scheme, addr = strings.ToLower(s), strings.TrimSuffix(rest, "/")
			if scheme != "http" && scheme != "https" {
				return nil, fmt.Errorf("--console %q: want host:port, http://host:port or https://host:port", cf.console)
			}
		}
	case cf.cfgPath != "":
		cfg, err := readConfig(cf.cfgPath)
		if err != nil {
			return nil, err
		}
		if cfg.Console.Listen == "" {
			return nil, fmt.Errorf("%s: console.listen is empty: the console is disabled", cf.cfgPath)
		}
		addr = dialable(cfg.Console.Listen)
		if cfg.TLS.Enabled() {
			scheme, caFile = "https", cfg.TLS.CAFile
		}
	default:
		addr = defaultConsole
	}
	if scheme == "" {
		scheme = "http"
		if cf.tls.set() {
			scheme = "https"
		}
	}
	if scheme == "http" && cf.tls.set() {
		return nil, fmt.Errorf("--ca-file, --cert-file, --key-file and --insecure-skip-verify are for an HTTPS console, not %s", cf.console)
	}
	c.base, c.label = scheme+"://"+addr, addr
	if scheme == "https" {
		c.label = c.base
		t := cf.tls
		if t.caFile == "" {
			t.caFile = caFile
		}
		cfg, err := t.config()
		if err != nil {
			return nil, err
		}
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.tls = cfg
	}
	return c, nil
}

// dialable turns a listen address into one to connect to: a host that
// binds every interface becomes localhost.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("localhost", port)
	}
	return listen
}

// get does GET path on the console and returns the status and body.
func (c *console) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("console %s: %w", c.label, err)
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	tr := &http.Transport{TLSClientConfig: c.tls, Proxy: http.ProxyFromEnvironment}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		var uerr *url.Error // its text repeats the URL
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			return 0, nil, fmt.Errorf("console %s: its certificate is not trusted (give --ca-file): %w", c.label, err)
		}
		return 0, nil, fmt.Errorf("console %s unreachable (is the broker running, with console.listen there?): %w", c.label, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("console %s: read %s: %w", c.label, path, err)
	}
	return resp.StatusCode, body, nil
}

// probe returns the status of GET path (a health check: no login).
func (c *console) probe(ctx context.Context, path string) (int, error) {
	code, _, err := c.get(ctx, path)
	return code, err
}

// fetch returns the body of GET path from the console.
func (c *console) fetch(ctx context.Context, path string) ([]byte, error) {
	code, body, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	switch {
	case code == http.StatusOK:
		return body, nil
	case code == http.StatusBadRequest && bytes.Contains(body, []byte("HTTP request to an HTTPS server")):
		return nil, fmt.Errorf("console %s speaks HTTPS: give --console https://%s (and --ca-file)", c.label, strings.TrimPrefix(c.base, "http://"))
	case code == http.StatusUnauthorized:
		why := firstLine(body)
		if c.user == "" {
			return nil, fmt.Errorf("console %s: GET %s: %s: log in with --user and --password (or PIER_USER and PIER_PASSWORD)", c.label, path, httpStatus(code))
		}
		return nil, fmt.Errorf("console %s: GET %s: %s: login as %q refused: %s", c.label, path, httpStatus(code), c.user, why)
	}
	return nil, fmt.Errorf("console %s: GET %s: %s", c.label, path, httpStatus(code))
}

// httpStatus is a status as net/http's Response.Status writes it.
func httpStatus(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }

// firstLine returns the first line of b, trimmed.
func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(line)
}

// printBridges prints one row per bridge, with a LAST ERROR column when a
// bridge has one.
func printBridges(w io.Writer, bs []network.Status) error {
	withErr := false
	for _, b := range bs {
		withErr = withErr || b.LastError != ""
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "CONNECTOR\tREMOTE\tBROKER\tSTATE\tSINCE\tDEMAND\tSUBS\tFORWARDED\tSENT\tDLQ\tCONNECTS"
	if withErr {
		head += "\tLAST ERROR"
	}
	fmt.Fprintln(tw, head)
	for _, b := range bs {
		since := ""
		if !b.Since.IsZero() {
			since = b.Since.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d", b.Connector, b.Remote, b.RemoteBroker,
			b.State, since, b.Demand, b.Subs, b.Forwarded, b.Sent, b.DeadLettered, b.Connects)
		if withErr {
			fmt.Fprintf(tw, "\t%s", b.LastError)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
