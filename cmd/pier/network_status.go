package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/piermq/pier/internal/config"
	"github.com/piermq/pier/internal/network"
)

const networkUsage = `Shows the network bridges of a broker: for each connector and remote
broker, its state and since when, the remote consumers it forwards for
(demand), its subscriptions here, and the messages forwarded and sent. The
broker is asked on its console port (console.listen); only the master runs
bridges.

  pier network status
  pier network status --config pier.yaml
  pier network status --console 127.0.0.1:8161 --json`

// defaultConsole is where the console listens unless configured otherwise.
const defaultConsole = "127.0.0.1:8161"

func runNetwork(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		args = []string{"status", "--help"} // the one subcommand's usage and flags
	}
	if len(args) == 0 || args[0] != "status" {
		fmt.Fprintf(stderr, "usage: pier network status [flags]\n\n%s\n", networkUsage)
		return errUsage
	}
	fs := newCommandFlags("network status", networkUsage, stderr)
	console := fs.String("console", "", "the broker's console as host:port (default "+defaultConsole+")")
	cfgPath := fs.String("config", "", "the broker's YAML configuration (its console.listen)")
	asJSON := fs.Bool("json", false, "print the JSON the console returns")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the console")
	if done, err := parseCommandFlags(fs, args[1:]); done {
		return err
	}
	addr, err := consoleAddr(*console, *cfgPath)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	body, err := fetchNetwork(qctx, addr)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var st struct {
		Bridges []network.Status `json:"bridges"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("console %s: /network: %w", addr, err)
	}
	return printBridges(stdout, st.Bridges)
}

// consoleAddr picks the console from --console, from --config's
// console.listen, or the default.
func consoleAddr(console, cfgPath string) (string, error) {
	switch {
	case console != "" && cfgPath != "":
		return "", errors.New("give --console or --config, not both")
	case console != "":
		return console, nil
	case cfgPath != "":
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return "", err
		}
		if cfg.Console.Listen == "" {
			return "", fmt.Errorf("%s: console.listen is empty: the console is disabled", cfgPath)
		}
		return cfg.Console.Listen, nil
	}
	return defaultConsole, nil
}

// fetchNetwork returns the body of GET /network from the console at addr.
func fetchNetwork(ctx context.Context, addr string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/network", nil)
	if err != nil {
		return nil, fmt.Errorf("console %s: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error // its text repeats the URL
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("console %s unreachable (is the broker running, with console.listen there?): %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("console %s: read /network: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("console %s: GET /network: %s", addr, resp.Status)
	}
	return body, nil
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
