package admin

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// serveUI sends one request to UIHandler and returns the recorded answer.
func serveUI(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkSecurityHeaders(t *testing.T, target string, rec *httptest.ResponseRecorder) {
	t.Helper()
	csp := rec.Header().Get("Content-Security-Policy")
	if csp != uiCSP {
		t.Errorf("%s: Content-Security-Policy %q, want %q", target, csp, uiCSP)
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy lacks %q", target, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy allows %q", target, csp)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", target, got)
	}
}

func TestUIServesAssets(t *testing.T) {
	h := UIHandler()
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/ui/app.js">`},
		{"/index.html", "text/html; charset=utf-8", "<title>Pier console</title>"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/pages/queue.js", "text/javascript; charset=utf-8", "/retry"},
		{"/ui/style.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := serveUI(t, h, http.MethodGet, tc.path, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d", tc.path, rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Errorf("caching headers: ETag %q, Cache-Control %q", rec.Header().Get("ETag"), rec.Header().Get("Cache-Control"))
			}
			checkSecurityHeaders(t, tc.path, rec)

			head := serveUI(t, h, http.MethodHead, tc.path, nil)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Errorf("HEAD %s: %d with %d bytes", tc.path, head.Code, head.Body.Len())
			}
		})
	}
}

func TestUIRevalidation(t *testing.T) {
	h := UIHandler()
	first := serveUI(t, h, http.MethodGet, "/ui/app.js", nil)
	etag := first.Header().Get("ETag")
	again := serveUI(t, h, http.MethodGet, "/ui/app.js", map[string]string{"If-None-Match": etag})
	if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
		t.Fatalf("If-None-Match %s: %d with %d bytes, want 304 and no body", etag, again.Code, again.Body.Len())
	}
	other := serveUI(t, h, http.MethodGet, "/ui/app.js", map[string]string{"If-None-Match": `"stale"`})
	if other.Code != http.StatusOK {
		t.Fatalf("a stale ETag: %d, want 200", other.Code)
	}
	if css := serveUI(t, h, http.MethodGet, "/ui/style.css", nil).Header().Get("ETag"); css == etag {
		t.Errorf("two assets share the ETag %s", etag)
	}
}

func TestUIGzip(t *testing.T) {
	h := UIHandler()
	plain := serveUI(t, h, http.MethodGet, "/ui/pages/queue.js", nil)
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"gzip;q=0", false},
		{"identity", false},
		{"", false},
	} {
		rec := serveUI(t, h, http.MethodGet, "/ui/pages/queue.js", map[string]string{"Accept-Encoding": tc.accept})
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", tc.accept, got, tc.gzip)
			continue
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: no Vary: Accept-Encoding", tc.accept)
		}
		if !tc.gzip {
			continue
		}
		if rec.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Errorf("gzip and plain answers share an ETag")
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain.Body.Bytes()) {
			t.Errorf("gzip body differs from the plain one")
		}
	}
}

func TestUINotFoundAndMethods(t *testing.T) {
	h := UIHandler()
	for _, p := range []string{"/nothing", "/ui/", "/ui", "/ui/missing.js", "/ui/index.html", "/ui/../admin.go", "/api/v1/unknown", "/ui/pages"} {
		rec := serveUI(t, h, http.MethodGet, p, nil)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
		checkSecurityHeaders(t, p, rec)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := serveUI(t, h, m, "/", nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d Allow %q, want 405 and GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// TestUIAssetsHold checks the assets as a whole: every file a page or
// module refers to is served, nothing runs inline (the CSP would block it
// anyway: this finds it before a browser does), no script writes markup
// from strings, and the whole stays small.
func TestUIAssetsHold(t *testing.T) {
	h := UIHandler()
	index := serveUI(t, h, http.MethodGet, "/", nil).Body.String()
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(index, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html refers to %d assets", len(refs))
	}
	for _, m := range refs {
		if rec := serveUI(t, h, http.MethodGet, m[1], nil); rec.Code != http.StatusOK {
			t.Errorf("index.html refers to %s: %d", m[1], rec.Code)
		}
	}
	inline := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`), // a script with a body
		regexp.MustCompile(`\son[a-z]+\s*=`),           // an event handler attribute
		regexp.MustCompile(`\sstyle\s*=`),              // a style attribute
		regexp.MustCompile(`<style`),
	}
	for _, re := range inline {
		if loc := re.FindString(index); loc != "" {
			t.Errorf("index.html has inline code or style: %q", loc)
		}
	}
	imports := regexp.MustCompile(`(?:import\s*\(|from\s+)'(\.{1,2}/[^']+)'`)
	total := 0
	err := fs.WalkDir(uiAssets, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiAssets.ReadFile(p)
		if err != nil {
			return err
		}
		total += len(b)
		if path.Ext(p) != ".js" {
			return nil
		}
		src := string(b)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s: build elements with dom.js's h()", p, bad)
			}
		}
		for _, m := range imports.FindAllStringSubmatch(src, -1) {
			target := "/" + path.Join(path.Dir(p), m[1])
			if rec := serveUI(t, h, http.MethodGet, target, nil); rec.Code != http.StatusOK {
				t.Errorf("%s imports %s (%s): %d", p, m[1], target, rec.Code)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The console must stay light: RabbitMQ's management UI ships about
	// 1 MB of scripts. Raise this with care, and say why in the commit.
	const budget = 128 << 10
	if total > budget {
		t.Errorf("the console's assets are %d bytes, over the budget of %d", total, budget)
	}
	t.Logf("console assets: %d bytes", total)
}
