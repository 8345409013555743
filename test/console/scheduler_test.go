//go:build crossprocess

package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/piermq/pier/client"
)

// TestConsoleScheduler: messages sent with AMQ_SCHEDULED_* are listed as
// jobs (destination, schedule, body) and one is cancelled from the page;
// the API then lists only the other.
func TestConsoleScheduler(t *testing.T) {
	b := startBroker(t, brokerOpts{open: true})
	c, s := b.session(t, client.Options{}, client.AutoAck)
	p, err := s.Producer(stepCtx(t), client.Queue("later"))
	if err != nil {
		t.Fatal(err)
	}
	for _, job := range []struct {
		text  string
		props map[string]any
	}{
		{"in an hour", map[string]any{"AMQ_SCHEDULED_DELAY": int64(3600000)}},
		{"hourly", map[string]any{"AMQ_SCHEDULED_DELAY": int64(7200000), "AMQ_SCHEDULED_PERIOD": int64(3600000), "AMQ_SCHEDULED_REPEAT": int32(3)}},
	} {
		m := client.NewTextMessage(job.text)
		for k, v := range job.props {
			m.SetProperty(k, v)
		}
		if err := p.Send(stepCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(stepCtx(t))

	pg := newPage(t, b.console, 1280, 900)
	pg.waitText("#broker-name", b.name)
	pg.click(`#nav a[href="#/scheduler"]`)
	pg.waitText("#jobs .pager .count", "1–2 of 2")
	rows, err := evalJS[[]string](pg, `[...document.querySelectorAll('#jobs tbody tr')].map((r) => r.textContent)`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "in an hour") || !strings.Contains(rows[0], "once") ||
		!strings.Contains(rows[1], "hourly") || !strings.Contains(rows[1], "every 1h 0m") || !strings.Contains(rows[1], "3 more") ||
		!strings.Contains(rows[0], "queue://later") {
		t.Errorf("the jobs are shown as %q", rows)
	}
	keep(pg, "scheduler")
	pg.confirmed("#jobs tbody tr:first-child button.danger", "Cancelled ")
	pg.waitText("#jobs .pager .count", "1–1 of 1")
	var jobs struct {
		Total int `json:"total"`
		Items []struct {
			Message struct {
				BodyPreview string `json:"body_preview"`
			} `json:"message"`
		} `json:"items"`
	}
	if code := b.api(t, http.MethodGet, "/api/v1/scheduler/jobs", nil, &jobs); code != http.StatusOK || jobs.Total != 1 ||
		jobs.Items[0].Message.BodyPreview != "hourly" {
		t.Errorf("GET /api/v1/scheduler/jobs after the cancel: %d %+v", code, jobs)
	}
	checkClean(t, pg, nil)
}
