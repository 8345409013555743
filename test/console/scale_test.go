//go:build crossprocess

package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestConsoleScale: with 10,000 queues and one queue of 50,000 messages,
// the destinations page and a browse page are drawn quickly because the
// pages only ever ask for one page (50 destinations, 25 messages) and the
// answers stay small. The times are logged for the measurements of
// docs/; the bounds are generous (a loaded CI machine), the page sizes
// are exact.
func TestConsoleScale(t *testing.T) {
	const queues, deep = 10000, 50000
	b := startBroker(t, brokerOpts{})
	names := make([]string, queues)
	for i := range names {
		names[i] = fmt.Sprintf("scale.%05d", i)
	}
	start := time.Now()
	b.sendEach(t, names, false, 16)
	many := make([]string, deep)
	for i := range many {
		many[i] = "scale.deep"
	}
	b.sendEach(t, many, false, 256)
	waitUntil(t, "the broker to hold every queue and message", 2*time.Minute, func() bool {
		var page struct {
			Total int `json:"total"`
		}
		var q struct {
			Depth int `json:"depth"`
		}
		return b.api(t, http.MethodGet, "/api/v1/destinations?type=queue&limit=1", nil, &page) == http.StatusOK &&
			page.Total == queues+1 &&
			b.api(t, http.MethodGet, "/api/v1/queues/scale.deep", nil, &q) == http.StatusOK && q.Depth == deep
	})
	t.Logf("made %d queues and %d messages in %s", queues+1, deep, time.Since(start).Round(time.Millisecond))

	p := newPage(t, b.console, 1280, 900)
	p.login("admin")
	type load struct {
		Page   float64 `json:"page"`   // ms from navigation to the load event
		Assets int     `json:"assets"` // files of the pages fetched
		Bytes  float64 `json:"bytes"`  // their size on the wire
	}
	first, err := evalJS[load](p, `({
		page: performance.getEntriesByType('navigation')[0].loadEventEnd,
		assets: performance.getEntriesByType('resource').filter((e) => e.name.includes('/ui/')).length + 1,
		bytes: performance.getEntriesByType('navigation')[0].transferSize + performance.getEntriesByType('resource')
			.filter((e) => e.name.includes('/ui/')).reduce((n, e) => n + e.transferSize, 0),
	})`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the console's first load: %.0f ms, %d files, %.0f bytes on the wire (gzip)", first.Page, first.Assets, first.Bytes)

	t0 := time.Now()
	p.open("#/destinations?type=queue")
	p.waitText("#dest-table .pager .count", "1–50 of 10,001")
	page := time.Since(t0)
	t0 = time.Now()
	p.click(`[data-sort="depth"]`)
	p.waitJS("sorted by depth", `document.querySelector('#dest-table tbody tr')?.dataset.name === 'scale.deep'`)
	sorted := time.Since(t0)
	t0 = time.Now()
	p.typeInto("#dest-filter", "scale.0999")
	p.waitText("#dest-table .pager .count", "1–10 of 10")
	filtered := time.Since(t0)
	keep(p, "destinations-10000")

	t0 = time.Now()
	p.open("#/queue/scale.deep")
	p.waitText("#messages .pager .count", "1–25 of 50,000")
	browse := time.Since(t0)
	t0 = time.Now()
	p.click("#messages .pager button:last-child")
	p.waitText("#messages .pager .count", "49,976–50,000 of 50,000")
	last := time.Since(t0)
	keep(p, "browse-50000")
	t.Logf("in the browser: destinations page %s, sorted by depth %s, filtered %s (typing included), first browse page %s, last browse page %s",
		page.Round(time.Millisecond), sorted.Round(time.Millisecond), filtered.Round(time.Millisecond),
		browse.Round(time.Millisecond), last.Round(time.Millisecond))
	for what, d := range map[string]time.Duration{"destinations page": page, "sort": sorted, "first browse page": browse, "last browse page": last} {
		if d > 5*time.Second {
			t.Errorf("the %s took %s with %d queues", what, d, queues)
		}
	}

	// What the pages fetched: pages of 50 destinations and 25 messages,
	// each answer small, never the whole list.
	type fetch struct {
		URL  string  `json:"url"`
		Size float64 `json:"size"`
	}
	fetched, err := evalJS[[]fetch](p, `performance.getEntriesByType('resource')
		.filter((e) => e.name.includes('/api/v1/destinations') || e.name.includes('/messages'))
		.map((e) => ({url: e.name, size: e.encodedBodySize}))`)
	if err != nil {
		t.Fatal(err)
	}
	if len(fetched) == 0 {
		t.Fatal("the browser recorded no API requests")
	}
	for _, f := range fetched {
		switch {
		case strings.Contains(f.URL, "/api/v1/destinations") && !strings.Contains(f.URL, "limit=50"):
			t.Errorf("the destinations page asked for %s (want limit=50)", f.URL)
		case strings.Contains(f.URL, "/messages") && !strings.Contains(f.URL, "limit=25"):
			t.Errorf("the queue page asked for %s (want limit=25)", f.URL)
		case f.Size > 64<<10:
			t.Errorf("%s answered %.0f bytes", f.URL, f.Size)
		}
	}
	checkClean(t, p, loginProbe)
}

// waitUntil polls cond until it holds or within passes.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
