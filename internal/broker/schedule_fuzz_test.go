package broker

import (
	"errors"
	"testing"
	"time"

	"github.com/piermq/pier/internal/message"
)

// FuzzScheduleHeaders feeds the scheduling properties as a STOMP client
// sends them (strings): specOf never panics, refuses only with
// ErrBadSchedule, and what it accepts has a first firing that is not in
// the past (or none, for a cron that never matches).
func FuzzScheduleHeaders(f *testing.F) {
	for _, s := range [][4]string{
		{"1000", "", "", ""}, {"0", "500", "3", ""}, {"", "", "", "*/5 * * * *"}, {"10", "1000", "-1", "0 9 * * 1-5"},
		{"-1", "", "", ""}, {"", "0", "2", ""}, {"9223372036854775807", "", "", ""}, {"", "", "", "0 0 31 2 *"},
		{" 5 ", "", "x", ""}, {"", "", "", "61 * * * *"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, delay, period, repeat, cronExpr string) {
		m := &message.Message{Properties: map[string]any{}}
		for k, v := range map[string]string{PropScheduledDelay: delay, PropScheduledPeriod: period,
			PropScheduledRepeat: repeat, PropScheduledCron: cronExpr} {
			if v != "" {
				m.Properties[k] = v
			}
		}
		sp, err := specOf(m)
		if err != nil {
			if !errors.Is(err, ErrBadSchedule) {
				t.Fatalf("refused with %v, not ErrBadSchedule", err)
			}
			return
		}
		if sp.immediate() {
			return
		}
		if due := sp.first(now); due != 0 && due < now.UnixMilli() {
			t.Fatalf("first firing %d is before now %d", due, now.UnixMilli())
		}
		j := jobMessage(m, "ID:j", sp, 1)
		if _, err := readJob(j); err != nil {
			t.Fatalf("a job made from an accepted spec cannot be read back: %v", err)
		}
	})
}
