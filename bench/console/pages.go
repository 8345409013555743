package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/piermq/pier/bench/internal/proc"
)

// pagesFlags are the flags of the pages mode.
type pagesFlags struct {
	console, user, password string
	deep, shallow           string
	repeat                  int
	timeout                 time.Duration
	broker                  proc.Proc
	chromium, profile       string
}

// The DOM conditions that prove a page shows its data: a first row and the
// pager's "1–50 of 10,001" (Pier's pages draw both from one answer).
const (
	destShown  = `document.querySelector('#dest-table tbody tr[data-name]') && (document.querySelector('#dest-table .pager .count')?.textContent || '').includes(' of ')`
	queueShown = `document.querySelector('#messages tbody tr[data-id]') && (document.querySelector('#messages .pager .count')?.textContent || '').includes(' of ')`
)

// errTimeout marks a page that did not show its data in time.
var errTimeout = errors.New("did not render in time")

func runPages(args []string) error {
	fs := flag.NewFlagSet("pages", flag.ContinueOnError)
	var f pagesFlags
	fs.StringVar(&f.console, "console", "http://127.0.0.1:8161", "the console, http://host:port")
	fs.StringVar(&f.user, "user", "admin", "user for the login form")
	fs.StringVar(&f.password, "password", "", "password for the login form")
	fs.StringVar(&f.deep, "deep", "cb.deep", "the deep queue")
	fs.StringVar(&f.shallow, "shallow", "cb.shallow", "the shallow queue")
	fs.IntVar(&f.repeat, "repeat", 10, "loads of each queue's first page")
	fs.DurationVar(&f.timeout, "timeout", 120*time.Second, "longest wait for one page")
	proc.Flags(fs, &f.broker)
	fs.StringVar(&f.chromium, "chromium", "/usr/bin/chromium", "the browser")
	fs.StringVar(&f.profile, "profile", "", "the browser's profile directory (empty: a new temporary one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.repeat < 1 || f.timeout <= 0 || f.broker.ClkTck <= 0 {
		return fmt.Errorf("%w: --repeat at least 1, --timeout positive", errUsage)
	}
	if _, err := os.Stat(f.chromium); err != nil {
		return fmt.Errorf("%w (apt-get install chromium)", err)
	}
	if f.profile == "" {
		dir, err := os.MkdirTemp("", "console-bench-chromium-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f.profile = dir
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(f.chromium),
		chromedp.NoSandbox, // root in containers
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(f.profile),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// Start the browser on ctx itself: the first run's context owns the
	// tab, and the steps below run on shorter ones.
	if err := chromedp.Do(ctx); err != nil {
		return fmt.Errorf("chromium: %w", err)
	}
	if err := login(ctx, &f); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	return measurePages(ctx, &f)
}

// measurePages times the destinations page once, then each queue's first
// page --repeat times while watching the broker, and prints the result.
func measurePages(ctx context.Context, f *pagesFlags) error {
	broker := f.broker
	var kv []any
	d, err := timedLoad(ctx, f.console+"/#/destinations?type=queue", destShown, "#dest-table .pager .count", f.timeout)
	if err != nil && !errors.Is(err, errTimeout) {
		return fmt.Errorf("destinations page: %w", err)
	}
	kv = append(kv, "dest_ms", msOrTimeout(d, err))
	for _, q := range []struct{ key, name string }{{"deep_", f.deep}, {"shallow_", f.shallow}} {
		var ts timings
		timedOut := 0
		u, err := proc.Watch(broker, func() error {
			for range f.repeat {
				d, err := timedLoad(ctx, f.console+"/#/queue/"+url.PathEscape(q.name), queueShown, "#messages .pager .count", f.timeout)
				if errors.Is(err, errTimeout) {
					timedOut++
					continue
				}
				if err != nil {
					return fmt.Errorf("queue page of %s: %w", q.name, err)
				}
				ts = append(ts, d)
			}
			return nil
		})
		if err != nil {
			return err
		}
		kv = append(kv, q.key+"first_ms", proc.Ms(ts.first()), q.key+"median_ms", proc.Ms(ts.median()),
			q.key+"max_ms", proc.Ms(ts.max()), q.key+"timeouts", timedOut)
		kv = append(kv, u.KV(q.key)...)
	}
	result(kv...)
	return nil
}

func msOrTimeout(d time.Duration, err error) any {
	if err != nil {
		return "timeout"
	}
	return proc.Ms(d)
}

// probeScript runs at the start of every new document: it watches the DOM
// until cond holds and notes the time (ms since navigation start) of that
// and of the end of the next frame drawn.
func probeScript(cond string) string {
	return `(() => {
  if (window.top !== window) return;
  const cond = () => { try { return !!(` + cond + `); } catch (e) { return false; } };
  let obs;
  const check = () => {
    if (window.__benchShown !== undefined || !cond()) return;
    window.__benchShown = performance.now();
    if (obs) obs.disconnect();
    requestAnimationFrame(() => setTimeout(() => { window.__benchPainted = performance.now(); }, 0));
  };
  obs = new MutationObserver(check);
  obs.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
  document.addEventListener('DOMContentLoaded', check);
})();`
}

// timedLoad loads address as a new document (from about:blank, so that a
// change of the hash alone is a full load too) and returns navigation
// start → the frame after cond first held, in the page's clock. It logs
// the text of the element label (the pager) to stderr.
func timedLoad(ctx context.Context, address, cond, label string, timeout time.Duration) (time.Duration, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return 0, err
	}
	added, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: probeScript(cond)})
	if err != nil {
		return 0, err
	}
	defer chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument,
		page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: added.Identifier})
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(lctx, chromedp.Navigate(address)); err != nil {
		if lctx.Err() != nil {
			return 0, fmt.Errorf("%s: %w (the load event)", address, errTimeout)
		}
		return 0, err
	}
	for {
		ms, err := chromedp.Run(lctx, chromedp.Evaluate[float64](`window.__benchPainted ?? 0`))
		if err == nil && ms > 0 {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](
				`document.querySelector(`+jsString(label)+`)?.textContent ?? ''`))
			fmt.Fprintf(os.Stderr, "console pages: %s: %.0f ms (%s)\n", address, ms, text)
			return time.Duration(ms * float64(time.Millisecond)), nil
		}
		if lctx.Err() != nil {
			return 0, fmt.Errorf("%s: %w", address, errTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// login opens the console, which shows its login form, and logs in as a
// person does: types the user and password and presses the button.
func login(ctx context.Context, f *pagesFlags) error {
	lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(lctx, chromedp.Navigate(f.console+"/")); err != nil {
		return err
	}
	if err := waitJS(lctx, `location.hash === '#/login' && document.querySelector('#login-user')`); err != nil {
		return fmt.Errorf("the login form: %w", err)
	}
	err := chromedp.Do(lctx,
		chromedp.SendKeys(chromedp.CSS("#login-user"), f.user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), f.password),
		chromedp.Click(chromedp.CSS("#login-submit"), chromedp.NodeVisible))
	if err != nil {
		return err
	}
	if err := waitJS(lctx, `location.hash === '#/' && document.querySelector('#broker-name')`); err != nil {
		return fmt.Errorf("the overview after the login: %w", err)
	}
	return nil
}

// waitJS polls the JavaScript condition until it holds or ctx ends.
func waitJS(ctx context.Context, cond string) error {
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && ok {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waited for %s: %w", cond, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsString quotes s as a JavaScript string literal (JSON's, with U+2028
// and U+2029 escaped, is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
