package admin

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// Destinations and their messages: /api/v1/destinations, /api/v1/queues/…
// and /api/v1/topics/….

// DestJSON is one destination, as the API lists it (pier queue list reads it too).
type DestJSON struct {
	Name      string `json:"name"`
	Type      string `json:"type"` // queue, topic
	Depth     int64  `json:"depth"`
	InFlight  int64  `json:"in_flight"`
	Enqueued  uint64 `json:"enqueued"`
	Dequeued  uint64 `json:"dequeued"`
	Expired   uint64 `json:"expired"`
	Consumers int    `json:"consumers"`
	Producers int    `json:"producers"`
	Memory    int64  `json:"memory"`
}

func destOf(d broker.DestInfo) DestJSON {
	return DestJSON{Name: d.Dest.Name, Type: d.Dest.Kind.String(), Depth: d.Depth, InFlight: d.InFlight,
		Enqueued: d.Enqueued, Dequeued: d.Dequeued, Expired: d.Expired, Consumers: d.Consumers,
		Producers: d.Producers, Memory: d.Memory}
}

// PageJSON is one page of a list and how many there are in all.
type PageJSON[T any] struct {
	Total  int `json:"total"`
	Offset int `json:"offset"`
	Items  []T `json:"items"`
}

// onlyParams refuses query parameters other than allowed.
func onlyParams(q url.Values, allowed ...string) error {
	for k := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("%w: unknown parameter %q", errBadQuery, k)
		}
	}
	return nil
}

func (s *Server) getDestinations(w http.ResponseWriter, r *http.Request, _ *principal) {
	q, err := parseDestQuery(r.URL.Query())
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	page := c.Destinations(q)
	out := PageJSON[DestJSON]{Total: page.Total, Offset: q.Offset, Items: make([]DestJSON, 0, len(page.Items))}
	for _, d := range page.Items {
		out.Items = append(out.Items, destOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// pathDest reads the {name} of r's path as a destination of kind k.
func pathDest(r *http.Request, k message.DestKind) (message.Destination, error) {
	name, err := parseName(r.PathValue("name"))
	return message.Destination{Kind: k, Name: name}, err
}

// noSuch answers 404 for d.
func noSuch(w http.ResponseWriter, d message.Destination) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("no such %s %s", d.Kind, d.Name))
}

// failOn answers a core error about d: an unknown destination in the
// words the CLI prints, anything else as fail does.
func failOn(w http.ResponseWriter, d message.Destination, err error) {
	if errors.Is(err, broker.ErrNoSuchDestination) {
		noSuch(w, d)
		return
	}
	fail(w, err)
}

func (s *Server) getDest(k message.DestKind) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ *principal) {
		d, err := pathDest(r, k)
		c := s.coreFor(w, r, err)
		if c == nil {
			return
		}
		info, ok := c.Destination(d)
		if !ok {
			noSuch(w, d)
			return
		}
		writeJSON(w, http.StatusOK, destOf(info))
	}
}

func (s *Server) deleteDest(k message.DestKind) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ *principal) {
		d, err := pathDest(r, k)
		c := s.coreFor(w, r, err)
		if c == nil {
			return
		}
		if err := c.DeleteDestination(r.Context(), d); err != nil {
			failOn(w, d, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// MessageJSON is one message of a browse.
type MessageJSON struct {
	ID                  string         `json:"id"`
	Position            int64          `json:"position"`
	Destination         string         `json:"destination"`
	OriginalDestination string         `json:"original_destination"`
	Timestamp           int64          `json:"timestamp"`
	Expiration          int64          `json:"expiration"`
	Priority            uint8          `json:"priority"`
	Persistent          bool           `json:"persistent"`
	Redelivered         bool           `json:"redelivered"`
	DeliveryCount       int32          `json:"delivery_count"`
	CorrelationID       string         `json:"correlation_id"`
	Type                string         `json:"type"`
	ReplyTo             string         `json:"reply_to"`
	GroupID             string         `json:"group_id"`
	GroupSeq            int32          `json:"group_seq"`
	UserID              string         `json:"user_id"`
	Properties          map[string]any `json:"properties"`
	BodyKind            string         `json:"body_kind"`
	BodySize            int            `json:"body_size"`
	BodyPreview         string         `json:"body_preview"`
	BodyPreviewEncoding string         `json:"body_preview_encoding,omitempty"` // base64, or none: UTF-8 text
	BodyTruncated       bool           `json:"body_truncated"`
	InFlight            bool           `json:"in_flight"`
}

func messageOf(m broker.MessageInfo) MessageJSON {
	j := MessageJSON{ID: m.ID, Position: m.Position, Destination: m.Dest.String(),
		OriginalDestination: m.OriginalDest.String(), Timestamp: m.Timestamp, Expiration: m.Expiration,
		Priority: m.Priority, Persistent: m.Persistent, Redelivered: m.Redelivered, DeliveryCount: m.DeliveryCount,
		CorrelationID: m.CorrelationID, Type: m.Type, ReplyTo: m.ReplyTo.String(), GroupID: m.GroupID,
		GroupSeq: m.GroupSeq, UserID: m.UserID, Properties: jsonProperties(m.Properties),
		BodyKind: m.BodyKind.String(), BodySize: m.BodySize, BodyTruncated: m.BodySize > len(m.BodyPreview),
		InFlight: m.InFlight}
	if text, ok := textPreview(m.BodyPreview, j.BodyTruncated); ok {
		j.BodyPreview = text
	} else {
		j.BodyPreview, j.BodyPreviewEncoding = base64.StdEncoding.EncodeToString(m.BodyPreview), "base64"
	}
	return j
}

// textPreview returns b as text when it is UTF-8; a preview cut short may
// end inside a character, which is dropped.
func textPreview(b []byte, truncated bool) (string, bool) {
	if truncated {
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0; i++ {
			r, size := utf8.DecodeLastRune(b)
			if r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// jsonProperties returns properties JSON can carry: floats that JSON
// cannot (NaN, ±Inf) become their names; byte arrays are base64 (as
// encoding/json does); never nil.
func jsonProperties(props map[string]any) map[string]any {
	out := make(map[string]any, len(props))
	for k, v := range props {
		switch x := v.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				v = fmt.Sprint(x)
			}
		case float32:
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				v = fmt.Sprint(x)
			}
		}
		out[k] = v
	}
	return out
}

func (s *Server) getMessages(w http.ResponseWriter, r *http.Request, _ *principal) {
	d, err := pathDest(r, message.Queue)
	q := r.URL.Query()
	offset, limit, perr := parsePage(q, defaultMessageLimit)
	err = cmp.Or(err, perr, onlyParams(q, "offset", "limit"))
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	ms, total, err := c.Browse(r.Context(), d.Name, offset, limit)
	if err != nil {
		failOn(w, d, err)
		return
	}
	out := PageJSON[MessageJSON]{Total: total, Offset: offset, Items: make([]MessageJSON, 0, len(ms))}
	for _, m := range ms {
		out.Items = append(out.Items, messageOf(m))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postPurge(w http.ResponseWriter, r *http.Request, _ *principal) {
	d, err := pathDest(r, message.Queue)
	var req struct{}
	if err == nil {
		err = decodeJSON(w, r, &req)
	}
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	n, err := c.Purge(r.Context(), d.Name)
	if err != nil {
		failOn(w, d, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Removed int `json:"removed"`
	}{n})
}
