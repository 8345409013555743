//go:build crossprocess

package console

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/piermq/pier/client"
)

// csp finds Content-Security-Policy violations among the page's problems:
// the pages must run with no inline code or style.
var csp = regexp.MustCompile(`(?i)content security policy|content-security-policy`)

// loginProbe is the browser's note of the first /api/v1/session answer,
// 401 before the login: how the page learns that it must ask for one.
var loginProbe = regexp.MustCompile(`status of 401 .*api/v1/session`)

// checkClean fails the test when the page reported an exception, a CSP
// violation or another error; allowed matches errors the test caused on
// purpose (a refused login, a forced 403).
func checkClean(t *testing.T, p *page, allowed *regexp.Regexp) {
	t.Helper()
	if v := p.problemsMatching(csp); len(v) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", v)
	}
	for _, m := range p.allProblems() {
		if allowed != nil && allowed.MatchString(m) {
			continue
		}
		t.Errorf("the page reported: %s", m)
	}
}

// step is one step of a scenario in one browser tab.
type step struct {
	name string
	run  func(t *testing.T)
}

// steps runs the steps in order as subtests on p, and stops at the first
// that fails: each one starts where the one before left the page.
func steps(t *testing.T, p *page, ss []step) {
	t.Helper()
	for _, s := range ss {
		ok := t.Run(s.name, func(t *testing.T) {
			p.t = t
			s.run(t)
		})
		p.t = t
		if !ok {
			return
		}
	}
}

// keep saves a screenshot of a step when $PIER_TEST_ARTIFACTS is set (a
// record of what the pages look like); failures are always saved.
func keep(p *page, name string) {
	if os.Getenv("PIER_TEST_ARTIFACTS") == "" {
		return
	}
	if path := p.screenshot(name); path != "" {
		p.t.Logf("screenshot %s", path)
	}
}

// TestConsoleAdmin: an admin logs in (after a wrong password), finds a
// queue among 120 by filter, sort and pages, browses it page by page,
// opens a message, sends a test message (checked with the Go client),
// moves two messages to another queue, copies one, deletes one, purges
// the queue, retries dead letters from ActiveMQ.DLQ to their queues, one
// and then all (a consumer gets each exactly once), deletes an offline
// durable subscription and closes a client's connection (the client sees
// it).
func TestConsoleAdmin(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	texts := make([]string, 30)
	for i := range texts {
		texts[i] = fmt.Sprintf("order %02d", i)
	}
	b.sendTexts(t, "orders.console", texts...)
	fillers := make([]string, 120)
	for i := range fillers {
		fillers[i] = fmt.Sprintf("filler.%03d", i)
	}
	b.sendEach(t, fillers, true, 1)
	b.deadLetter(t, "orders.poison", "poison pill")
	b.deadLetter(t, "orders.poison2", "bad a")
	b.deadLetter(t, "orders.poison2", "bad b")
	if d := b.depth(t, "ActiveMQ.DLQ"); d != 3 {
		t.Fatalf("ActiveMQ.DLQ holds %d messages before the test, want 3", d)
	}

	b.durableBacklog(t, "billing", "prices", "prices.eu", 3)
	watcher := b.dial(t, client.Options{ClientID: "watcher"})

	p := newPage(t, b.console, 1280, 900)
	refused := regexp.MustCompile(`401|Unauthorized`) // the wrong password, on purpose

	steps(t, p, []step{
		{"login", func(t *testing.T) {
			p.waitJS("the login form", "location.hash === '#/login' && document.querySelector('#login-user')")
			p.typeInto("#login-user", "admin")
			p.typeInto("#login-password", "wrong")
			p.click("#login-submit")
			p.waitJS("the refusal", "!document.querySelector('#login-error').hidden")
			keep(p, "login-refused")
			p.typeInto("#login-password", passwords["admin"])
			p.click("#login-submit")
			p.waitText("#broker-name", b.name)
			if who := p.text("#user"); who != "admin (admin)" {
				t.Errorf("the header says %q, want admin (admin)", who)
			}
			p.waitJS("the live chart's first rate", "document.querySelector('.legend')?.textContent.includes('/s')")
			keep(p, "overview")
		}},
		{"destinations", func(t *testing.T) {
			p.click(`#nav a[href="#/destinations"]`)
			p.waitText("#dest-table .pager .count", "1–50 of")
			if n := p.count("#dest-table tbody tr"); n != 50 {
				t.Errorf("the first page has %d rows, want 50", n)
			}
			// By keyboard: the pager and the column heads are buttons.
			p.press(`[data-page="next"]`)
			p.waitText("#dest-table .pager .count", "51–100 of")
			p.press(`[data-sort="depth"]`)
			p.waitJS("sorted by depth, deepest first", `document.querySelector('#dest-table tbody tr')?.dataset.name === 'orders.console'`)
			if s := p.text(`th[aria-sort] button`); !strings.Contains(s, "Depth") {
				t.Errorf("the sorted column is %q, want Depth", s)
			}
			p.typeInto("#dest-filter", "orders.con")
			p.waitText("#dest-table .pager .count", "1–1 of 1")
			if !strings.Contains(p.location(), "q=orders.con") {
				t.Errorf("the filter is not in the address: %s", p.location())
			}
			keep(p, "destinations")
			p.click(`#dest-table a[href="#/queue/orders.console"]`)
			p.waitText("#queue-name", "orders.console")
		}},
		{"browse", func(t *testing.T) {
			p.waitText("#messages .pager .count", "1–25 of 30")
			if n := p.count("#msg-table tbody tr"); n != 25 {
				t.Errorf("the first page has %d messages, want 25", n)
			}
			checkLabels(t, p)
			if s := p.text("#msg-table tbody tr:first-child td.preview"); s != "order 00" {
				t.Errorf("the first message's preview is %q, want order 00", s)
			}
			p.click(`[data-page="next"]`)
			p.waitText("#messages .pager .count", "26–30 of 30")
			if s := p.text("#msg-table tbody tr:last-child td.preview"); s != "order 29" {
				t.Errorf("the last message's preview is %q, want order 29", s)
			}
			p.click("#msg-table tbody tr:last-child button.open")
			p.waitJS("the message's details", "document.querySelector('#message-detail').open")
			detail := p.text("#message-detail")
			for _, want := range []string{"Properties", "n", "29", "order 29", "Persistent"} {
				if !strings.Contains(detail, want) {
					t.Errorf("the message's details lack %q: %q", want, detail)
				}
			}
			keep(p, "message")
			p.click("#message-detail button[type=submit]")
			p.waitJS("the details closed", "!document.querySelector('#message-detail').open")
		}},
		{"send", func(t *testing.T) {
			p.click("#send summary")
			p.typeInto("#send-body", "hello from the console")
			p.typeInto("#send-props", "source=console")
			p.click("#send-submit")
			p.toast("Sent ")
			p.waitText("#stat-depth", "31")
			ms := b.browse(t, "orders.console")
			if len(ms) != 31 {
				t.Fatalf("the Go client browses %d messages, want 31", len(ms))
			}
			last := ms[len(ms)-1]
			if text, _ := last.Text(); text != "hello from the console" || last.Property("source") != "console" {
				t.Errorf("the message sent from the console reached the queue as %q with source %v", text, last.Property("source"))
			}
		}},
		{"move", func(t *testing.T) {
			p.open("#/queue/orders.console")
			p.waitText("#messages .pager .count", "1–25 of 31")
			p.click("#msg-table tbody tr:nth-child(1) input.sel")
			p.click("#msg-table tbody tr:nth-child(2) input.sel")
			p.waitText(".selection .sel-count", "2 selected")
			p.typeInto("#move-to", "orders.moved")
			p.click("#move-selected")
			p.toast("Moved 2 messages to orders.moved")
			p.waitText("#messages .pager .count", "1–25 of 29")
			got := b.receiveAll(t, "orders.moved", time.Second)
			if !slices.Equal(got, []string{"order 00", "order 01"}) {
				t.Errorf("orders.moved holds %q, want order 00 and order 01", got)
			}

			p.click("#msg-table tbody tr:nth-child(1) input.sel")
			p.waitText(".selection .sel-count", "1 selected")
			p.typeInto("#move-to", "orders.copied")
			p.click("#copy-selected")
			p.toast("Copied 1 message to orders.copied")
			p.waitText("#messages .pager .count", "1–25 of 29")
			if got := b.receiveAll(t, "orders.copied", time.Second); !slices.Equal(got, []string{"order 02"}) {
				t.Errorf("orders.copied holds %q, want order 02", got)
			}

			p.click("#msg-table tbody tr:nth-child(2) input.sel")
			p.waitText(".selection .sel-count", "1 selected")
			p.confirmed("#delete-selected", "Deleted 1 message.")
			p.waitText("#messages .pager .count", "1–25 of 28")
			ms := b.browse(t, "orders.console")
			if len(ms) != 28 {
				t.Errorf("the Go client browses %d messages after the delete, want 28", len(ms))
			}
			for _, m := range ms {
				if text, _ := m.Text(); text == "order 03" {
					t.Errorf("order 03 is still on the queue after its delete")
				}
			}
		}},
		{"purge", func(t *testing.T) {
			p.confirmed("#purge", "Purged 28 messages.")
			p.waitText("#msg-table td.empty", "The queue is empty.")
			p.waitText("#stat-depth", "0")
			if d := b.depth(t, "orders.console"); d != 0 {
				t.Errorf("the API reports depth %d after the purge", d)
			}
			if got := b.receiveAll(t, "orders.console", 500*time.Millisecond); len(got) != 0 {
				t.Errorf("a consumer still gets %q after the purge", got)
			}
		}},
		{"retry", func(t *testing.T) {
			p.open("#/queue/ActiveMQ.DLQ")
			p.waitText("#messages .pager .count", "1–3 of 3")
			id, err := evalJS[string](p, `[...document.querySelectorAll('#msg-table tbody tr')]
				.find((r) => r.querySelector('td.preview').textContent === 'poison pill')?.dataset.id ?? ''`)
			if err != nil || id == "" {
				t.Fatalf("no row for the poison pill on the DLQ page (%v)", err)
			}
			row := fmt.Sprintf("#msg-table tr[data-id=%s]", js(id))
			if s := p.text(row); !strings.Contains(s, "orders.poison") {
				t.Errorf("the DLQ's row does not name orders.poison: %q", s)
			}
			keep(p, "dlq")
			p.click(row + " button.retry-one")
			p.toast("Retried 1 message to its original destination")
			p.waitText("#messages .pager .count", "1–2 of 2")
			got := b.receiveAll(t, "orders.poison", time.Second)
			if !slices.Equal(got, []string{"poison pill"}) {
				t.Errorf("orders.poison gives %q after the retry, want the message once", got)
			}

			p.confirmed("#retry-all", "Retried 2 messages to their original destination")
			p.waitText("#msg-table td.empty", "The queue is empty.")
			if d := b.depth(t, "ActiveMQ.DLQ"); d != 0 {
				t.Errorf("ActiveMQ.DLQ holds %d after retrying all", d)
			}
			got = b.receiveAll(t, "orders.poison2", time.Second)
			if !slices.Equal(got, []string{"bad a", "bad b"}) {
				t.Errorf("orders.poison2 gives %q after retrying all, want bad a and bad b once", got)
			}
		}},
		{"durables", func(t *testing.T) {
			p.open("#/durables")
			row := `#durables tbody tr:has(th)`
			p.waitText(row, "prices")
			if s := p.text(row); !strings.Contains(s, "billing") || !strings.Contains(s, "prices.eu") || !strings.Contains(s, "3") || !strings.Contains(s, "offline") {
				t.Errorf("the subscription's row is %q, want billing, prices.eu, backlog 3, offline", s)
			}
			keep(p, "durables")
			p.confirmed(row+" button.danger", "Deleted prices.")
			p.waitText("#durables td.empty", "No durable subscriptions.")
			var ds struct {
				Total int `json:"total"`
			}
			if code := b.api(t, http.MethodGet, "/api/v1/durables", nil, &ds); code != http.StatusOK || ds.Total != 0 {
				t.Errorf("GET /api/v1/durables after the delete: %d, %d subscriptions", code, ds.Total)
			}
		}},
		{"connections", func(t *testing.T) {
			p.open("#/connections")
			p.waitText("#connections", "watcher")
			id, err := evalJS[string](p, `[...document.querySelectorAll('#connections tbody tr')]
				.find((r) => r.textContent.includes('watcher'))?.dataset.id ?? ''`)
			if err != nil || id == "" {
				t.Fatalf("no row for the watcher's connection (%v)", err)
			}
			row := fmt.Sprintf("#connections tr[data-id=%s]", js(id))
			if s := p.text(row); !strings.Contains(s, "openwire") || !strings.Contains(s, "admin") {
				t.Errorf("the connection's row is %q, want openwire and user admin", s)
			}
			keep(p, "connections")
			p.confirmed(row+" button.danger", "Closed the connection")
			select {
			case <-watcher.Done():
			case <-time.After(10 * time.Second):
				t.Errorf("the Go client's connection is still open 10 s after the console closed it")
			}
			p.waitGone(row)
		}},
	})
	checkClean(t, p, refused)
}

// TestConsoleViewer: a user outside console.admin_groups sees the pages
// without a single button that changes something, and forcing a change
// from the page (with the session's CSRF token) is refused with 403 and
// changes nothing.
func TestConsoleViewer(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	b.sendTexts(t, "orders.view", "a", "b", "c")
	b.deadLetter(t, "orders.view.poison", "dead")
	b.dial(t, client.Options{ClientID: "viewer-conn"}) // open while the pages look

	p := newPage(t, b.console, 1280, 900)
	p.login("viewer")
	if who := p.text("#user"); who != "viewer (read only)" {
		t.Errorf("the header says %q, want viewer (read only)", who)
	}
	// Every button that changes something, in the page's main part (the
	// confirmation dialog of index.html is there for everyone, unused).
	mutations := "#send, #purge, #delete-queue, #retry-all, #delete-selected, #move-selected, #copy-selected, " +
		"#retry-selected, main input.sel, main button.retry-one, main button.danger"

	p.open("#/queue/orders.view")
	p.waitText("#messages .pager .count", "1–3 of 3")
	if n := p.count(mutations); n != 0 {
		t.Errorf("the queue page shows a viewer %d buttons that change things", n)
	}
	keep(p, "queue")
	p.open("#/queue/ActiveMQ.DLQ")
	p.waitText("#messages .pager .count", "1–1 of 1")
	if n := p.count(mutations); n != 0 {
		t.Errorf("the DLQ page shows a viewer %d buttons that change things", n)
	}
	p.open("#/connections")
	p.waitText("#connections", "viewer-conn")
	if n := p.count(mutations); n != 0 {
		t.Errorf("the connections page shows a viewer %d buttons that change things", n)
	}
	p.open("#/durables")
	p.waitJS("the durable subscriptions", "document.querySelector('#durables table')")
	if n := p.count(mutations); n != 0 {
		t.Errorf("the durables page shows a viewer %d buttons that change things", n)
	}

	type answer struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	forced, err := evalJS[answer](p, `(async () => {
		const s = await (await fetch('/api/v1/session')).json();
		const r = await fetch('/api/v1/queues/orders.view/purge', {method: 'POST',
			headers: {'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json'}, body: '{}'});
		return {status: r.status, body: await r.text()};
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if forced.Status != http.StatusForbidden || !strings.Contains(forced.Body, `"error"`) {
		t.Errorf("a viewer's forced purge: %d %s, want 403 with an error", forced.Status, forced.Body)
	}
	if d := b.depth(t, "orders.view"); d != 3 {
		t.Errorf("orders.view holds %d after the refused purge, want 3", d)
	}
	p.click("#logout")
	p.waitJS("the login form after logging out", "location.hash === '#/login' && document.querySelector('#login-user')")
	if code, _, err := b.get("/api/v1/session"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/session without a login: %d %v", code, err)
	}
	checkClean(t, p, regexp.MustCompile(`403|Forbidden|`+loginProbe.String()))
}

// TestConsoleOpen: without users (security off, console on loopback) the
// pages need no login, say so, and may change things.
func TestConsoleOpen(t *testing.T) {
	b := startBroker(t, brokerOpts{open: true})
	b.sendTexts(t, "orders.open", "one")
	p := newPage(t, b.console, 1280, 900)
	p.waitText("#broker-name", b.name)
	if who := p.text("#user"); who != "security off: no login" {
		t.Errorf("the header says %q", who)
	}
	if p.count("#logout:not([hidden])") != 0 {
		t.Errorf("a Log out button without security")
	}
	p.open("#/queue/orders.open")
	p.waitText("#messages .pager .count", "1–1 of 1")
	p.click("#send summary")
	p.typeInto("#send-body", "two")
	p.click("#send-submit")
	p.toast("Sent ")
	p.waitText("#messages .pager .count", "1–2 of 2")
	checkClean(t, p, nil)
}

// TestConsolePhone: the pages fit a phone's width: the destinations table
// scrolls inside its box, the page itself does not scroll sideways.
func TestConsolePhone(t *testing.T) {
	b := startBroker(t, brokerOpts{})
	b.sendTexts(t, "orders.phone", "small screen")
	p := newPage(t, b.console, 1280, 900)
	// A phone's viewport (a headless window is never narrower than 500 px).
	p.run("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	p.login("admin")
	if w, err := evalJS[int](p, "window.innerWidth"); err != nil || w != 390 {
		t.Fatalf("the page is %d px wide (%v), want 390", w, err)
	}
	for _, hash := range []string{"#/", "#/destinations", "#/queue/orders.phone"} {
		p.open(hash)
		p.waitJS(hash+" drawn", "document.querySelector('main h1') && !document.querySelector('[aria-busy=true]')")
		overflow, err := evalJS[bool](p, "document.documentElement.scrollWidth > window.innerWidth + 1")
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("%s scrolls sideways at 390 px", hash)
		}
		keep(p, "phone-"+strings.Trim(hash, "#/"))
	}
	checkLabels(t, p)

	// Dark, when the system asks for it.
	if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatal(err)
	}
	p.waitJS("the dark colours", "getComputedStyle(document.body).backgroundColor === 'rgb(15, 18, 22)'")
	keep(p, "phone-dark")
	checkClean(t, p, loginProbe)
}

// checkLabels fails the test for a control of the page without a name a
// screen reader can say (a label, aria-label or text).
func checkLabels(t *testing.T, p *page) {
	t.Helper()
	unnamed, err := evalJS[[]string](p, `[...document.querySelectorAll('main button, main input, main select, main textarea, main a')]
		.filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.textContent.trim()))
		.map((el) => el.outerHTML.slice(0, 120))`)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unnamed {
		t.Errorf("a control without a name: %s", u)
	}
}

// TestConsoleSlave: two brokers on one shared directory; the second is a
// slave, and its console says so on every page, naming the master when
// the group knows it.
func TestConsoleSlave(t *testing.T) {
	journal := t.TempDir()
	startBroker(t, brokerOpts{name: "console-master", journal: journal})
	slave := startBroker(t, brokerOpts{name: "console-slave", journal: journal, standby: true})
	if code, _, _ := slave.get("/readyz"); code == http.StatusOK {
		t.Fatalf("the second broker on %s is ready: not a slave", journal)
	}
	p := newPage(t, slave.console, 1280, 900)
	p.waitJS("the login form", "location.hash === '#/login' && document.querySelector('#login-user')")
	p.typeInto("#login-user", "admin")
	p.typeInto("#login-password", passwords["admin"])
	p.click("#login-submit")
	p.waitJS("the slave banner", "!document.querySelector('#role-banner').hidden")
	p.waitText("#role-banner", "slave")
	p.waitText("#not-serving", "serves no clients")
	if p.count("main section.cards:not([hidden])") != 0 {
		t.Errorf("a slave's overview shows rates and connections (zeros)")
	}
	keep(p, "slave")
	p.open("#/destinations")
	p.waitText("#role-banner", "slave")
}

// TestConsoleCSP: the browser enforces the console's Content-Security-
// Policy — an inline script and an inline style put into the page are
// refused (and reported, which is how every other test here would see
// one the pages themselves used).
func TestConsoleCSP(t *testing.T) {
	b := startBroker(t, brokerOpts{open: true})
	p := newPage(t, b.console, 1280, 900)
	p.waitText("#broker-name", b.name)
	ran, err := evalJS[bool](p, `(() => {
		window.injected = false;
		const s = document.createElement('script');
		s.textContent = 'window.injected = true';
		document.body.append(s);
		const st = document.createElement('style');
		st.textContent = 'body { display: none }';
		document.head.append(st);
		return window.injected;
	})()`)
	if err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Errorf("an inline script ran")
	}
	if hidden, err := evalJS[bool](p, "getComputedStyle(document.body).display === 'none'"); err != nil || hidden {
		t.Errorf("an inline style applied (%v)", err)
	}
	deadline := time.Now().Add(waitFor)
	for len(p.problemsMatching(csp)) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if v := p.problemsMatching(csp); len(v) < 2 {
		t.Errorf("the browser reported %d CSP violations, want the script's and the style's: %q", len(v), p.allProblems())
	}
}
