package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/config"
)

func TestReadPasswordLine(t *testing.T) {
	for in, want := range map[string]string{"s3cret\n": "s3cret", "s3cret\r\nmore\n": "s3cret", "last": "last", "  sp  \n": "  sp  "} {
		got, err := readPasswordLine(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := readPasswordLine(strings.NewReader("\n")); err == nil {
		t.Error("an empty line gave a password")
	}
}

// pier passwd reads stdin (not a terminal here) and prints a hash the
// front door accepts.
func TestPasswd(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	w.WriteString("hunter2\n")
	w.Close()
	out := strings.TrimSpace(pier(t, runPasswd))
	if !config.IsBcryptHash(out) {
		t.Fatalf("pier passwd printed %q, not a bcrypt hash", out)
	}
	g, err := auth.New(auth.Options{Enforced: true, Users: []auth.User{{Name: "u", Hash: out}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(t.Context(), auth.Credentials{Username: "u", Password: "hunter2"}); err != nil {
		t.Errorf("the printed hash does not verify: %v", err)
	}
	if _, _, err := try(runPasswd, "hunter2"); err == nil {
		t.Error("a password given as an argument was accepted")
	}
}

// A listener beyond loopback without users refuses to start, saying what
// to configure.
func TestServeRefusesOpenListenerBeyondLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "open.yaml")
	os.WriteFile(cfg, []byte("broker: {data_dir: "+dir+"}\ntransports:\n  openwire: tcp://0.0.0.0:0\nconsole: {listen: \"\"}\n"), 0o644)
	_, _, err := try(runServe, "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "security.users") || !strings.Contains(err.Error(), "allow_anonymous") {
		t.Errorf("serve: %v, want a refusal naming security.users and allow_anonymous", err)
	}
}

func TestAdvertised(t *testing.T) {
	c := config.Default()
	c.Broker.AdvertiseHost = "broker1.example.com"
	for in, want := range map[string]string{
		"tcp://0.0.0.0:61616":    "tcp://broker1.example.com:61616",
		"ssl://[::]:61617":       "ssl://broker1.example.com:61617",
		"tcp://:61616":           "tcp://broker1.example.com:61616",
		"tcp://127.0.0.1:61616":  "tcp://127.0.0.1:61616",
		"tcp://10.0.0.1:61616":   "tcp://10.0.0.1:61616",
		"stomp://host.lan:61613": "stomp://host.lan:61613",
	} {
		if got := advertised(c, in); got != want {
			t.Errorf("advertised(%q) = %q, want %q", in, got, want)
		}
	}
	c.Broker.AdvertiseHost = ""
	host, _ := os.Hostname()
	if got := advertised(c, "tcp://0.0.0.0:1"); host != "" && got != "tcp://"+host+":1" {
		t.Errorf("without advertise_host: %q, want the host name %q", got, host)
	}
}
