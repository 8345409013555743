package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/piermq/pier/internal/broker"
)

// Scheduler is the broker's scheduled jobs (AMQ_SCHEDULED_*), as the
// management topic ActiveMQ.Scheduler.Management has them for JMS tools.
type Scheduler interface {
	ScheduledJobList(ctx context.Context, offset, limit int) ([]broker.JobInfo, int, error)
	RemoveScheduledJob(ctx context.Context, id string) error
}

// jobJSON is one scheduled job.
type jobJSON struct {
	ID      string      `json:"id"`
	Due     int64       `json:"due"` // unix ms of its next firing
	Delay   int64       `json:"delay"`
	Period  int64       `json:"period"`
	Repeat  int         `json:"repeat"` // repeats left, -1 for ever
	Cron    string      `json:"cron,omitempty"`
	Retry   bool        `json:"redelivery"` // a rejected message waiting for its redelivery
	Message MessageJSON `json:"message"`
}

func (s *Server) getJobs(w http.ResponseWriter, r *http.Request, _ *principal) {
	q := r.URL.Query()
	offset, limit, err := parsePage(q, defaultMessageLimit)
	err = cmp.Or(err, onlyParams(q, "offset", "limit"))
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	jobs, total, err := c.ScheduledJobList(r.Context(), offset, limit)
	if err != nil {
		fail(w, err)
		return
	}
	out := PageJSON[jobJSON]{Total: total, Offset: offset, Items: make([]jobJSON, 0, len(jobs))}
	for _, j := range jobs {
		out.Items = append(out.Items, jobJSON{ID: j.ID, Due: j.Due, Delay: j.Delay, Period: j.Period,
			Repeat: j.Repeat, Cron: j.Cron, Retry: j.Retry, Message: messageOf(j.Message)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request, _ *principal) {
	id := r.PathValue("id")
	var err error
	if id == "" || len(id) > 1024 {
		err = fmt.Errorf("bad job id %.40q", id)
	}
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	if err := c.RemoveScheduledJob(r.Context(), id); err != nil {
		if errors.Is(err, broker.ErrNoSuchJob) {
			writeError(w, http.StatusNotFound, "no such scheduled job "+id)
			return
		}
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
