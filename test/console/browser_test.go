//go:build crossprocess

package console

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser, which chromedp drives headless.
const chromium = "/usr/bin/chromium"

// waitFor bounds every wait for the page to show something.
const waitFor = 15 * time.Second

// page is one headless browser tab on a broker's console. Its methods fail
// the test (t.Fatal) when the page does not do what is asked in time.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string // the console, http://host:port

	mu       sync.Mutex
	problems []string // exceptions, console errors, CSP reports
}

// artifactsDir is where failing tests leave screenshots and HTML:
// $PIER_TEST_ARTIFACTS/console, or a new directory under the temporary
// directory, made once per run.
var artifacts struct {
	once sync.Once
	dir  string
	err  error
}

func artifactsDir() (string, error) {
	artifacts.once.Do(func() {
		if root := os.Getenv("PIER_TEST_ARTIFACTS"); root != "" {
			artifacts.dir = filepath.Join(root, "console")
			artifacts.err = os.MkdirAll(artifacts.dir, 0o755)
			return
		}
		artifacts.dir, artifacts.err = os.MkdirTemp("", "pier-console-artifacts-")
	})
	return artifacts.dir, artifacts.err
}

// newPage starts chromium (a new profile: no cookies) at width×height and
// opens the root of console (http://host:port). When the test fails, it
// saves a screenshot and the page's HTML first.
func newPage(t *testing.T, console string, width, height int) *page {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (apt-get install chromium)", chromium, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(width, height),
		chromedp.Flag("lang", "en-US"), // numbers as 10,000 in every test's expectations
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	p := &page{t: t, ctx: ctx, base: console}
	// Start the browser, then read its console until the test ends: the
	// page's exceptions, console.error and the browser's log of errors
	// (CSP violations, failed loads).
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	read := make(chan struct{})
	go func() {
		defer close(read)
		for m, err := range messages {
			if err != nil {
				return
			}
			p.note(m)
		}
	}()
	t.Cleanup(func() {
		if t.Failed() {
			p.saveArtifacts("failure")
		}
		cancelCtx()
		cancelAlloc()
		<-read
	})
	if err := chromedp.Do(ctx, chromedp.Navigate(console+"/")); err != nil {
		t.Fatalf("chromium: open %s: %v", console, err)
	}
	return p
}

// note keeps a console message that says something went wrong.
func (p *page) note(m chromedp.ConsoleMessage) {
	if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
		return
	}
	msg := m.String()
	if m.Source != "" {
		msg += " [" + m.Source + "]"
	}
	if m.URL != "" {
		msg += " " + m.URL
	}
	p.mu.Lock()
	p.problems = append(p.problems, msg)
	p.mu.Unlock()
}

// problemsMatching returns the problems whose text matches re.
func (p *page) problemsMatching(re *regexp.Regexp) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.problems {
		if re.MatchString(m) {
			out = append(out, m)
		}
	}
	return out
}

// allProblems returns every problem reported so far.
func (p *page) allProblems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// run runs chromedp actions, failing the test with what was being done.
func (p *page) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// evalJS evaluates a JavaScript expression in the page (awaiting a
// promise) and decodes its value as T.
func evalJS[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitJS waits until the JavaScript expression cond is true; what says
// what was waited for.
func (p *page) waitJS(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	var last error
	for {
		var ok bool
		ok, last = evalJS[bool](p, "!!("+cond+")")
		if last == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited %s for %s (%s); page %s; problems %q", waitFor, what, cond, p.location(), p.allProblems())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// waitText waits until the element sel exists and its text contains want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	p.waitJS(fmt.Sprintf("%s to show %q", sel, want),
		fmt.Sprintf("document.querySelector(%s)?.textContent.includes(%s)", js(sel), js(want)))
}

// waitGone waits until no element matches sel.
func (p *page) waitGone(sel string) {
	p.t.Helper()
	p.waitJS(sel+" to be gone", fmt.Sprintf("!document.querySelector(%s)", js(sel)))
}

// text returns the text of the first element matching sel ("" if none).
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := evalJS[string](p, fmt.Sprintf("document.querySelector(%s)?.textContent ?? ''", js(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// count returns how many elements match sel.
func (p *page) count(sel string) int {
	p.t.Helper()
	n, err := evalJS[int](p, fmt.Sprintf("document.querySelectorAll(%s).length", js(sel)))
	if err != nil {
		p.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// click clicks the first element matching sel once it is visible.
func (p *page) click(sel string) {
	p.t.Helper()
	p.run("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto replaces the value of the input sel with text, typed as keys.
func (p *page) typeInto(sel, text string) {
	p.t.Helper()
	p.run("find "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	// Emptied from script: chromedp's Clear refuses an empty textarea.
	if _, err := evalJS[bool](p, fmt.Sprintf("(document.querySelector(%s).value = '', true)", js(sel))); err != nil {
		p.t.Fatalf("empty %s: %v", sel, err)
	}
	p.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// press focuses sel and presses Enter there, as a keyboard user does.
func (p *page) press(sel string) {
	p.t.Helper()
	p.run("press Enter on "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel)),
		chromedp.KeyEvent("\r"))
}

// open goes to a console address such as "#/destinations" the way a link
// does (a new hash in the same document), also when it is the address
// already shown.
func (p *page) open(hash string) {
	p.t.Helper()
	expr := fmt.Sprintf("history.pushState(null, '', %s); window.dispatchEvent(new HashChangeEvent('hashchange')); true", js(hash))
	if _, err := evalJS[bool](p, expr); err != nil {
		p.t.Fatalf("open %s: %v", hash, err)
	}
}

// location returns the page's address.
func (p *page) location() string {
	s, _ := evalJS[string](p, "location.href")
	return s
}

// toast waits for the status line to say want.
func (p *page) toast(want string) {
	p.t.Helper()
	p.waitText("#toast.show", want)
}

// confirmed clicks sel, answers OK in the confirmation dialog it opens,
// and waits for the status line to say want.
func (p *page) confirmed(sel, want string) {
	p.t.Helper()
	p.click(sel)
	p.waitJS("the confirmation of "+sel, "document.querySelector('#confirm').open")
	p.click("#confirm-ok")
	p.toast(want)
}

// login logs in through the form as user.
func (p *page) login(user string) {
	p.t.Helper()
	p.waitJS("the login form", "location.hash === '#/login' && document.querySelector('#login-user')")
	p.typeInto("#login-user", user)
	p.typeInto("#login-password", passwords[user])
	p.click("#login-submit")
	p.waitJS("the overview after the login", "location.hash === '#/' && document.querySelector('#broker-name')")
}

// screenshot saves a full-page PNG under the artifacts directory and
// returns its path.
func (p *page) screenshot(name string) string {
	dir, err := artifactsDir()
	if err != nil {
		p.t.Logf("no screenshot %s: %v", name, err)
		return ""
	}
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("no screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(dir, fileName(p.t.Name()+"-"+name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("no screenshot %s: %v", name, err)
		return ""
	}
	return path
}

// saveArtifacts saves a screenshot and the page's HTML, and logs where.
func (p *page) saveArtifacts(name string) {
	png := p.screenshot(name)
	if html, err := evalJS[string](p, "document.documentElement.outerHTML"); err == nil && png != "" {
		os.WriteFile(strings.TrimSuffix(png, ".png")+".html", []byte(html), 0o644)
	}
	p.t.Logf("page %s; screenshot %s (and .html); problems %q", p.location(), png, p.allProblems())
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return unsafeName.ReplaceAllString(s, "_") }
