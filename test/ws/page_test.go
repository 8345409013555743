//go:build crossprocess

package ws

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium is Debian's browser, which chromedp drives headless.
const chromium = "/usr/bin/chromium"

// stompPage speaks STOMP 1.2 over the browser's WebSocket with
// subprotocol v12.stomp, in a few lines of its own (no library is
// reachable offline). It connects to the URL in ?ws=, subscribes to the
// queue in ?queue= and keeps what it receives; sendTo sends a message.
const stompPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>STOMP over WebSocket</title></head>
<body><script>
"use strict";
const params = new URLSearchParams(location.search);
window.state = "opening";
window.received = [];
window.closeCode = null;

function frame(command, headers, body) {
  let s = command + "\n";
  for (const [k, v] of Object.entries(headers)) s += k + ":" + v + "\n";
  return s + "\n" + (body || "") + "\0";
}

function parse(raw) {
  const blank = raw.indexOf("\n\n");
  const lines = raw.slice(0, blank).split("\n");
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (!(line.slice(0, i) in headers)) headers[line.slice(0, i)] = line.slice(i + 1);
  }
  return {command: lines[0], headers: headers, body: raw.slice(blank + 2)};
}

const ws = new WebSocket(params.get("ws"), ["v12.stomp"]);
ws.binaryType = "arraybuffer";
const decoder = new TextDecoder();
let buffer = "";

ws.onopen = () => {
  window.protocol = ws.protocol;
  ws.send(frame("CONNECT", {"accept-version": "1.2", "host": "localhost", "heart-beat": "0,0"}));
};

ws.onmessage = (ev) => {
  buffer += typeof ev.data === "string" ? ev.data : decoder.decode(ev.data, {stream: true});
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const raw = buffer.slice(0, end).replace(/^[\r\n]+/, ""); // heart-beats between frames
    buffer = buffer.slice(end + 1);
    if (raw !== "") handle(parse(raw));
  }
};

function handle(f) {
  switch (f.command) {
  case "CONNECTED":
    window.state = "connected";
    ws.send(frame("SUBSCRIBE", {"id": "0", "destination": params.get("queue"), "receipt": "subscribed"}));
    break;
  case "RECEIPT":
    if (f.headers["receipt-id"] === "subscribed") window.state = "subscribed";
    break;
  case "MESSAGE":
    window.received.push(f.body);
    break;
  case "ERROR":
    window.state = "error: " + f.headers["message"];
    break;
  }
}

ws.onclose = (ev) => { window.closeCode = ev.code; };

window.sendTo = (destination, body) => {
  ws.send(frame("SEND", {"destination": destination, "content-type": "text/plain"}, body));
  return true;
};
</script></body></html>
`

// page is a headless chromium tab on stompPage.
type page struct {
	t   *testing.T
	ctx context.Context
}

// openPage serves stompPage from the test (another origin than the
// broker's) and opens it in chromium, connecting to wsURL and subscribing
// to queue; flags are chromium's extra command-line switches.
func openPage(t *testing.T, wsURL, queue string, flags ...string) *page {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s: %v (apt-get install chromium)", chromium, err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(stompPage))
	}))
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in CI containers
		chromedp.Flag("disable-gpu", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first action starts the browser, on ctx itself: a browser
	// started under a shorter context ends with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	p := &page{t: t, ctx: ctx}
	q := url.Values{"ws": {wsURL}, "queue": {queue}}
	if err := p.do(chromedp.Navigate(srv.URL + "/?" + q.Encode())); err != nil {
		t.Fatalf("chromium: open the page: %v", err)
	}
	return p
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval evaluates a JavaScript expression in the page as T.
func eval[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// wait waits until the JavaScript expression cond is true.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, err := eval[bool](p, "!!("+cond+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			state, _ := eval[string](p, "String(window.state) + ', close code ' + window.closeCode")
			p.t.Fatalf("waited %s for %s (%s): %v; page state %s", waitFor, what, cond, err, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
