package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/piermq/pier/internal/auth"
	"golang.org/x/term"
)

const passwdUsage = `Reads a password and prints its bcrypt hash, for security.users[].password_hash
or a users.properties file. On a terminal it asks twice without echoing;
otherwise it reads one line from standard input:

  pier passwd
  printf '%s\n' "$SECRET" | pier passwd
  printf '%s\n' "$SECRET" | pier passwd --cost 8

The cost is what a broker pays to check the password the first time it sees
it (then the login is cached): cost 10, the default, takes about 60 ms of a
core, each step up doubles it. A new master checks each user's password once,
so a failover with many distinct users logging in again costs that many
checks; a lower cost makes that faster and stolen hashes cheaper to crack.`

func runPasswd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("passwd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pier passwd [--cost N]\n\n%s\n\nFlags:\n", passwdUsage)
		fs.PrintDefaults()
	}
	cost := fs.Int("cost", auth.DefaultCost, "bcrypt cost, 4 to 31")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pier passwd: unexpected argument %q (the password is read, never given as an argument)\n", fs.Arg(0))
		return errUsage
	}
	pw, err := readPassword(os.Stdin, stderr)
	if err != nil {
		return err
	}
	h, err := auth.HashPassword(pw, *cost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// readPassword prompts twice on a terminal, or reads one line otherwise.
func readPassword(in *os.File, prompt io.Writer) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return readPasswordLine(in)
	}
	fmt.Fprint(prompt, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(prompt, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords differ")
	}
	return string(a), nil
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
