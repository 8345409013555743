package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one run. Latencies are end to end, from the
// send (or, with a rate, the scheduled send) to the consumer's handler.
type Result struct {
	Server       string         `json:"server"`
	Transport    string         `json:"transport"`
	Destination  string         `json:"destination"`
	Producers    int            `json:"producers"`
	Consumers    int            `json:"consumers"`
	Size         int            `json:"size"`
	Persistent   bool           `json:"persistent"`
	TargetRate   float64        `json:"target_rate,omitempty"`
	Sent         int64          `json:"sent"`
	Received     int64          `json:"received"`
	SendSeconds  float64        `json:"send_seconds"`
	TotalSeconds float64        `json:"total_seconds"`
	SendRate     float64        `json:"send_rate"`    // messages/s while sending
	ReceiveRate  float64        `json:"receive_rate"` // messages/s, first send to last receive
	SendMiBps    float64        `json:"send_mib_per_s"`
	Latency      LatencySummary `json:"latency"`
}

func (r *run) result(server string, sendDone time.Time, consumers []*consumer) *Result {
	var h Histogram
	for _, c := range consumers {
		h.Merge(&c.hist)
	}
	res := &Result{
		Server: server, Transport: r.cfg.Transport.Name(), Destination: r.cfg.Destination.String(),
		Producers: r.cfg.Producers, Consumers: r.cfg.Consumers, Size: r.cfg.Size,
		Persistent: r.cfg.Persistent, TargetRate: r.cfg.Rate,
		Sent: r.sent.Load(), Received: r.received.Load(),
		SendSeconds: sendDone.Sub(r.start).Seconds(),
		Latency:     h.Summary(),
	}
	end := sendDone
	if last := r.lastRecv.Load(); last > 0 {
		end = time.Unix(0, max(last, sendDone.UnixNano()))
	}
	res.TotalSeconds = end.Sub(r.start).Seconds()
	if res.SendSeconds > 0 {
		res.SendRate = float64(res.Sent) / res.SendSeconds
		res.SendMiBps = res.SendRate * float64(res.Size) / (1 << 20)
	}
	if res.TotalSeconds > 0 {
		res.ReceiveRate = float64(res.Received) / res.TotalSeconds
	}
	return res
}

// WriteJSON writes the result as one indented JSON object.
func (res *Result) WriteJSON(w io.Writer) error { return writeJSON(w, res) }

// writeJSON writes v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}

// writeRows writes label-value rows as an aligned table.
func writeRows(w io.Writer, rows [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write text: %w", err)
	}
	return nil
}

// WriteText writes the result as an aligned table for people.
func (res *Result) WriteText(w io.Writer) error {
	mode := "non-persistent"
	if res.Persistent {
		mode = "persistent"
	}
	rate := "unlimited"
	if res.TargetRate > 0 {
		rate = fmt.Sprintf("%.0f msg/s", res.TargetRate)
	}
	l := res.Latency
	rows := [][2]string{
		{"server", res.Server + " (" + res.Transport + ")"},
		{"destination", res.Destination},
		{"clients", fmt.Sprintf("%d producers, %d consumers", res.Producers, res.Consumers)},
		{"messages", fmt.Sprintf("%d B, %s, rate %s", res.Size, mode, rate)},
		{"sent", fmt.Sprintf("%d in %.2fs (%.0f msg/s, %.2f MiB/s)", res.Sent, res.SendSeconds, res.SendRate, res.SendMiBps)},
		{"received", fmt.Sprintf("%d in %.2fs (%.0f msg/s)", res.Received, res.TotalSeconds, res.ReceiveRate)},
		{"latency", fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s", us(l.P50Us), us(l.P90Us), us(l.P99Us), us(l.P999Us), us(l.MaxUs))},
	}
	return writeRows(w, rows)
}

func us(v float64) string {
	return time.Duration(v * float64(time.Microsecond)).Round(time.Microsecond).String()
}
