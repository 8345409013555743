package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/piermq/pier/bench/internal/proc"
)

// runWatch runs a command (after --) while watching the broker, and prints
// the command's result line followed by the broker's figures over it.
func runWatch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	var broker proc.Proc
	proc.Flags(fs, &broker)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || broker.ClkTck <= 0 {
		return fmt.Errorf("%w: give the command after --", errUsage)
	}
	var out bytes.Buffer
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	u, err := proc.Watch(broker, cmd.Run)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	fmt.Println(strings.TrimSpace(out.String()) + " " + proc.Line(u.KV("")...))
	return nil
}
