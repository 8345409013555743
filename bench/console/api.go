package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/piermq/pier/bench/internal/proc"
)

// apiFlags are the flags of the api, metrics and ready modes.
type apiFlags struct {
	console, user, password string
	deep, shallow           string
	repeat                  int
	timeout                 time.Duration
	sinceMS                 int64
	broker                  proc.Proc
}

func apiFlagSet(name string, f *apiFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&f.console, "console", "http://127.0.0.1:8161", "the console, http://host:port")
	fs.StringVar(&f.user, "user", "admin", "user")
	fs.StringVar(&f.password, "password", "", "password")
	fs.StringVar(&f.deep, "deep", "cb.deep", "the deep queue")
	fs.StringVar(&f.shallow, "shallow", "cb.shallow", "the shallow queue")
	fs.IntVar(&f.repeat, "repeat", 20, "requests of each kind")
	fs.DurationVar(&f.timeout, "timeout", 120*time.Second, "longest wait for one answer (ready: for the broker)")
	fs.Int64Var(&f.sinceMS, "since-ms", 0, "ready: unix ms the broker was started at")
	proc.Flags(fs, &f.broker)
	return fs
}

// session is an HTTP client logged in to the console with its cookie, as
// the pages are.
type session struct {
	base string
	hc   *http.Client
}

func newSession(ctx context.Context, f *apiFlags) (*session, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	s := &session{base: f.console, hc: &http.Client{Jar: jar, Timeout: f.timeout}}
	body, err := json.Marshal(map[string]string{"user": f.user, "password": f.password})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.console+"/api/v1/login", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /api/v1/login: %s", resp.Status)
	}
	return s, nil
}

// get fetches path with the given Accept-Encoding ("" lets Go ask for
// gzip and unpack it) and returns the time to the last byte, the bytes
// read off the wire and the body.
func (s *session) get(ctx context.Context, path, encoding string) (time.Duration, int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, 0, nil, err
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	start := time.Now()
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return 0, 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, nil, fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	return took, len(body), body, nil
}

// repeatGet fetches path n times: the timings and the last answer's size.
func (s *session) repeatGet(ctx context.Context, path, encoding string, n int) (timings, int, error) {
	var ts timings
	size := 0
	for range n {
		d, b, _, err := s.get(ctx, path, encoding)
		if err != nil {
			return nil, 0, err
		}
		ts = append(ts, d)
		size = b
	}
	return ts, size, nil
}

func runAPI(args []string) error {
	var f apiFlags
	if err := apiFlagSet("api", &f).Parse(args); err != nil {
		return err
	}
	if f.repeat < 1 || f.broker.ClkTck <= 0 {
		return fmt.Errorf("%w: --repeat at least 1", errUsage)
	}
	ctx := context.Background()
	s, err := newSession(ctx, &f)
	if err != nil {
		return err
	}
	broker := f.broker
	var kv []any
	for _, c := range []struct{ key, path string }{
		{"dest50_", "/api/v1/destinations?limit=50"},
		{"deep25_", "/api/v1/queues/" + url.PathEscape(f.deep) + "/messages?limit=25"},
		{"shallow25_", "/api/v1/queues/" + url.PathEscape(f.shallow) + "/messages?limit=25"},
	} {
		var ts timings
		var size int
		u, err := proc.Watch(broker, func() (err error) {
			ts, size, err = s.repeatGet(ctx, c.path, "identity", f.repeat)
			return err
		})
		if err != nil {
			return err
		}
		kv = append(kv, c.key+"first_ms", proc.Ms(ts.first()), c.key+"median_ms", proc.Ms(ts.median()),
			c.key+"max_ms", proc.Ms(ts.max()), c.key+"bytes", size, c.key+"cpu_ms_per_req", proc.Ms(u.CPU)/float64(f.repeat))
	}
	all, n, err := listAll(ctx, s)
	if err != nil {
		return err
	}
	kv = append(kv, "all_ms", proc.Ms(all), "all_queues", n, "repeat", f.repeat)
	result(kv...)
	return nil
}

// listAll reads every queue with its counters, 1,000 to a page (the
// API's largest), as a script listing them all would.
func listAll(ctx context.Context, s *session) (time.Duration, int, error) {
	start := time.Now()
	n := 0
	for offset := 0; ; offset += 1000 {
		_, _, body, err := s.get(ctx, fmt.Sprintf("/api/v1/destinations?type=queue&limit=1000&offset=%d", offset), "")
		if err != nil {
			return 0, 0, err
		}
		var page struct {
			Total int               `json:"total"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, 0, err
		}
		n += len(page.Items)
		if len(page.Items) == 0 || n >= page.Total {
			return time.Since(start), n, nil
		}
	}
}

func runMetrics(args []string) error {
	var f apiFlags
	if err := apiFlagSet("metrics", &f).Parse(args); err != nil {
		return err
	}
	if f.repeat < 1 || f.broker.ClkTck <= 0 {
		return fmt.Errorf("%w: --repeat at least 1", errUsage)
	}
	ctx := context.Background()
	s := &session{base: f.console, hc: &http.Client{Timeout: f.timeout}} // /metrics needs no login
	broker := f.broker
	var kv []any
	for _, enc := range []string{"identity", "gzip"} {
		var ts timings
		var size int
		u, err := proc.Watch(broker, func() (err error) {
			ts, size, err = s.repeatGet(ctx, "/metrics", enc, f.repeat)
			return err
		})
		if err != nil {
			return err
		}
		kv = append(kv, enc+"_first_ms", proc.Ms(ts.first()), enc+"_median_ms", proc.Ms(ts.median()),
			enc+"_bytes", size, enc+"_cpu_ms_per_scrape", proc.Ms(u.CPU)/float64(f.repeat))
	}
	_, _, body, err := s.get(ctx, "/metrics", "identity")
	if err != nil {
		return err
	}
	series, queueSeries := 0, 0
	for line := range strings.Lines(string(body)) {
		if line == "" || line[0] == '#' {
			continue
		}
		series++
		if strings.HasPrefix(line, "pier_queue_messages{") {
			queueSeries++
		}
	}
	kv = append(kv, "series", series, "queue_depth_series", queueSeries, "repeat", f.repeat)
	result(kv...)
	return nil
}

// runReady waits for /readyz to answer 200 and reports how long after
// --since-ms that was.
func runReady(args []string) error {
	var f apiFlags
	if err := apiFlagSet("ready", &f).Parse(args); err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	broker := f.broker
	deadline := time.Now().Add(f.timeout)
	for {
		if !broker.Alive() {
			return fmt.Errorf("the broker (pid %d) exited", f.broker.PID)
		}
		resp, err := hc.Get(f.console + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/readyz did not answer 200 within %s", f.console, f.timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	since := time.Duration(time.Now().UnixMilli()-f.sinceMS) * time.Millisecond
	cpu, err := broker.CPU()
	if err != nil {
		return err
	}
	rss, err := broker.RSSKB()
	if err != nil {
		return err
	}
	result("ready_s", since, "cpu_ms", proc.Ms(cpu), "rss_kb", rss)
	return nil
}
