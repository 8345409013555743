package admin

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// The web console's pages: plain HTML, CSS and JavaScript modules under
// ui/, embedded in the binary and served as they are (no build step, no
// CDN). The pages talk to the REST API under /api/v1/ and to /network.
//
//go:embed ui
var uiAssets embed.FS

// uiCSP is the Content-Security-Policy of every answer of UIHandler: only
// this origin's files run or load, nothing inline, no framing.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// uiTypes are the content types of the assets, by extension (not the
// system's mime tables, which differ between machines).
var uiTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

// uiFile is one asset, read once: its bytes, a gzip copy when that is
// smaller, and the ETags of both.
type uiFile struct {
	ctype      string
	body, gz   []byte
	etag, gzET string
}

// uiHandler serves the assets: the console's page at / (and /index.html),
// everything else under /ui/. Any other path is 404.
type uiHandler struct {
	files map[string]*uiFile // by URL path
}

// UIHandler returns the handler of the console's pages. Mount it for
// "GET /" on the console's mux: the more specific routes (/api/v1/...,
// /healthz, /metrics, /network) keep their own handlers. It needs no login:
// the pages hold no data, and the API they call asks for one.
//
// Every answer carries a strict Content-Security-Policy. Assets are sent
// with an ETag and "Cache-Control: no-cache": a browser revalidates (304,
// no body) and picks up a new binary's pages at once. Clients that accept
// gzip get it.
func UIHandler() http.Handler {
	h := &uiHandler{files: map[string]*uiFile{}}
	err := fs.WalkDir(uiAssets, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := uiTypes[path.Ext(p)]
		if !ok {
			return nil // not an asset (notes, tests)
		}
		b, err := uiAssets.ReadFile(p)
		if err != nil {
			return err
		}
		h.files["/"+p] = newUIFile(ctype, b)
		return nil
	})
	if err != nil {
		// The files are compiled in: this cannot fail at run time.
		panic("admin: embedded console assets: " + err.Error())
	}
	h.files["/"] = h.files["/ui/index.html"]
	h.files["/index.html"] = h.files["/ui/index.html"]
	delete(h.files, "/ui/index.html")
	return h
}

func newUIFile(ctype string, b []byte) *uiFile {
	sum := sha256.Sum256(b)
	tag := hex.EncodeToString(sum[:8])
	f := &uiFile{ctype: ctype, body: b, etag: `"` + tag + `"`}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if gz.Len() < len(b) {
		f.gz, f.gzET = gz.Bytes(), `"`+tag+`-gz"`
	}
	return f
}

func (h *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", uiCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[r.URL.Path]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Add("Vary", "Accept-Encoding")
	body, etag := f.body, f.etag
	if f.gz != nil && acceptsGzip(r) {
		body, etag = f.gz, f.gzET
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// without refusing it (q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
