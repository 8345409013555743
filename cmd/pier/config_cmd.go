package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/piermq/pier/internal/amqxml"
	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/config"
)

const configUsage = `Translates and checks configuration files.

  pier config import [--property NAME=VALUE]... activemq.xml > pier.yaml
      prints the YAML configuration an ActiveMQ activemq.xml stands for,
      each line commented with the XML line it comes from (plain-text
      passwords of a simpleAuthenticationPlugin become bcrypt hashes);
      what Pier ignores goes to standard error, what it cannot run is an
      error. ${activemq.base}, ${activemq.conf} and ${activemq.data} come
      from ACTIVEMQ_BASE (default .), ACTIVEMQ_CONF (default the file's
      directory) and ACTIVEMQ_DATA (default ./data); --property sets any
      ${NAME}.
  pier config check [--property NAME=VALUE]... FILE
      reads a YAML configuration or an activemq.xml as pier serve does
      and says what is wrong, or "ok".`

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "Usage: pier config import|check [flags] FILE\n\n%s\n", configUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("config "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	props := propertyFlag{}
	fs.Var(props, "property", "NAME=VALUE for ${NAME} in an activemq.xml (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier config %s [flags] FILE\n\n%s\n\nFlags:\n", sub, configUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "pier config %s: want one FILE\n", sub)
		return errUsage
	}
	path := fs.Arg(0)
	switch sub {
	case "import":
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if !amqxml.Detect(data) {
			return fmt.Errorf("import: %s is not an XML file (a YAML configuration needs no import)", path)
		}
		res, err := amqxml.Import(path, data, xmlOptions(props))
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintf(stderr, "%s:%d: warning: %s\n", path, w.Line, w.Msg)
		}
		_, err = stdout.Write(res.YAML)
		return err
	case "check":
		log := slog.New(slog.NewTextHandler(stderr, nil))
		if _, err := loadConfig(path, props, log); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	fmt.Fprintf(stderr, "pier config: unknown subcommand %q (import, check)\n", sub)
	return errUsage
}

// propertyFlag collects --property NAME=VALUE.
type propertyFlag map[string]string

func (p propertyFlag) String() string { return "" }

func (p propertyFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	p[name] = value
	return nil
}

func xmlOptions(props propertyFlag) amqxml.Options {
	return amqxml.Options{
		Properties: props,
		HashPassword: func(pw string) (string, error) {
			return auth.HashPassword(pw, auth.DefaultCost)
		},
	}
}

// readConfig reads a configuration, YAML or activemq.xml, for a command
// that only looks at it (cluster status, network status): the XML's
// warnings are for pier serve to log.
func readConfig(path string) (*config.Config, error) {
	return loadConfig(path, nil, slog.New(slog.DiscardHandler))
}

// loadConfig reads the configuration pier serve runs: YAML, or an
// ActiveMQ activemq.xml (told apart by the content), whose warnings are
// logged one line each.
func loadConfig(path string, props propertyFlag, log *slog.Logger) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !amqxml.Detect(data) {
		if len(props) > 0 {
			return nil, fmt.Errorf("--property applies to an activemq.xml; %s is YAML", path)
		}
		return config.Parse(path, data)
	}
	cfg, res, err := amqxml.Load(path, data, xmlOptions(props))
	if res != nil {
		for _, w := range res.Warnings {
			log.Warn("activemq.xml: "+w.Msg, "file", path, "line", w.Line)
		}
	}
	if err != nil {
		return nil, err
	}
	log.Info("configuration translated from ActiveMQ's XML", "file", path, "warnings", len(res.Warnings))
	return cfg, nil
}
