// Command genref writes the configuration reference, docs/configuration.md,
// from the schema and internal/config/reference.go:
//
//	go generate ./internal/config
//	go run ./internal/config/cmd/genref -o docs/configuration.md
//
// Without -o it writes to standard output.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/piermq/pier/internal/config"
)

func main() {
	out := flag.String("o", "", "write the reference to this file instead of standard output")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genref:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	var b bytes.Buffer
	if err := config.WriteReference(&b); err != nil {
		return err
	}
	if out == "" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
