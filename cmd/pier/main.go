// Command pier is the Pier message broker and its tools: serve runs a
// broker; produce, consume and bench talk to one; cluster and network show
// its replication group and bridges. main only wires: every
// piece of behaviour lives in internal/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return append([]command{
		{"serve", "run a broker (a single broker with the embedded journal unless --config says otherwise)", runServe},
		{"produce", "send messages to a destination", runProduce},
		{"consume", "receive messages from a destination", runConsume},
		{"browse", "print the messages on a queue without consuming them", runBrowse},
		{"bench", "measure throughput and latency against a broker", runBench},
		{"cluster", "show the members of a master/slave group; exit 1 when it is degraded (cluster status)", runCluster},
		{"certs", "make a private CA and certificates (broker TLS, group members, clients)", runCerts},
		{"network", "show the network bridges of a broker (network status)", runNetwork},
		{"config", "translate an ActiveMQ activemq.xml to YAML (config import), check a configuration (config check)", runConfig},
		{"demo", "run the seed's topology on this machine: two replicated groups of three, bridged both ways", runDemo},
		{"passwd", "read a password and print its bcrypt hash (for security.users)", runPasswd},
		{"version", "print the version", runVersion},
	}, adminCommands()...)
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintf(stdout, "pier %s\n", version)
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: pier COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pier help COMMAND' or 'pier COMMAND --help' for a command's flags; 'pier --version' for the version.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-v", "--version", "-version":
			args = []string{"version"}
		case "help", "-h", "--help", "-help":
			if len(args) == 1 {
				usage(stdout)
				return 0
			}
			// pier help COMMAND is pier COMMAND --help.
			args = []string{args[1], "--help"}
		}
	}
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		var se *subcommandError
		if errors.As(err, &se) { // pier queue purge: ...
			fmt.Fprintf(stderr, "pier %s %s: %s\n", c.name, se.name, plainError(se.err))
			return 1
		}
		fmt.Fprintf(stderr, "pier %s: %s\n", c.name, plainError(err))
		return 1
	}
	fmt.Fprintf(stderr, "pier: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage marks a command-line mistake already reported to the user.
var errUsage = errors.New("usage")
