package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/piermq/pier/internal/auth"
	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// Changes to a queue's messages: send a test message, move or copy,
// retry dead letters, remove.

// maxIDs bounds the ids of one request.
const maxIDs = 10000

// sendRequest is the body of POST /api/v1/queues/{name}/messages.
type sendRequest struct {
	Body          string         `json:"body"`
	Properties    map[string]any `json:"properties"`
	Persistent    *bool          `json:"persistent"` // default true
	Priority      *int           `json:"priority"`   // 0-9, default 4
	CorrelationID string         `json:"correlation_id"`
	Type          string         `json:"type"`
}

// parseSend reads a test message for queue from a request body: a text
// message, persistent and of priority 4 unless the body says otherwise;
// property values are strings, booleans or numbers (integers as long,
// others as double).
func parseSend(body []byte, queue string) (*message.Message, error) {
	var req sendRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	m := &message.Message{Dest: message.Destination{Kind: message.Queue, Name: queue}, BodyKind: message.Text,
		Body: []byte(req.Body), Persistent: true, Priority: message.DefaultPriority,
		CorrelationID: req.CorrelationID, Type: req.Type}
	if req.Persistent != nil {
		m.Persistent = *req.Persistent
	}
	if req.Priority != nil {
		if *req.Priority < 0 || *req.Priority > 9 {
			return nil, fmt.Errorf("priority %d: want 0 to 9", *req.Priority)
		}
		m.Priority = uint8(*req.Priority)
	}
	if len(req.Properties) > 0 {
		m.Properties = make(map[string]any, len(req.Properties))
	}
	for k, v := range req.Properties {
		if k == "" || strings.HasPrefix(k, "JMS") {
			return nil, fmt.Errorf("property %q: names must not be empty or start with JMS", k)
		}
		switch x := v.(type) {
		case string, bool:
			m.Properties[k] = x
		case json.Number:
			if i, err := x.Int64(); err == nil {
				m.Properties[k] = i
			} else if f, err := x.Float64(); err == nil {
				m.Properties[k] = f
			} else {
				return nil, fmt.Errorf("property %q: %s is not a number a message can carry", k, x)
			}
		default:
			return nil, fmt.Errorf("property %q: want a string, a number or a boolean", k)
		}
	}
	return m, nil
}

// readBody reads r's body (at most maxBody bytes).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return b, nil
}

// postMessage sends a test message as the console's user, through
// broker.Connect: the front door authorizes it as any client's send.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := pathDest(r, message.Queue)
	var body []byte
	if err == nil {
		body, err = readBody(w, r)
	}
	var m *message.Message
	if err == nil {
		m, err = parseSend(body, d.Name)
	}
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	o := broker.ConnOptions{Subject: p.subject}
	if p.subject == nil {
		o.Credentials = auth.Credentials{Username: p.user, Remote: r.RemoteAddr, Protocol: "http", Request: true}
	}
	conn, err := c.Connect(r.Context(), o)
	if err != nil {
		fail(w, err)
		return
	}
	defer conn.Close()
	if err := conn.Send(r.Context(), m, ""); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		ID string `json:"id"`
	}{m.ID})
}

// idsRequest is the body of remove and retry: the ids of the messages, or
// none for all of them (where that is allowed).
type idsRequest struct {
	IDs []string `json:"ids"`
}

// moveRequest is the body of move.
type moveRequest struct {
	IDs  []string `json:"ids"`
	To   string   `json:"to"`
	Copy bool     `json:"copy"`
}

// checkIDs refuses an empty list given explicitly (an absent one means
// all), empty ids and too many.
func checkIDs(ids []string, present bool) error {
	if present && len(ids) == 0 {
		return errors.New("ids: an empty list; leave \"ids\" out to mean every message")
	}
	if len(ids) > maxIDs {
		return fmt.Errorf("ids: %d of them; at most %d at once", len(ids), maxIDs)
	}
	for _, id := range ids {
		if id == "" {
			return errors.New("ids: an empty id")
		}
	}
	return nil
}

// parseMove reads a move request's body.
func parseMove(body []byte) (moveRequest, message.Destination, error) {
	var req moveRequest
	if err := decodeBody(body, &req); err != nil {
		return req, message.Destination{}, err
	}
	if err := checkIDs(req.IDs, req.IDs != nil); err != nil {
		return req, message.Destination{}, err
	}
	to, err := parseTarget(req.To)
	return req, to, err
}

func (s *Server) postMove(w http.ResponseWriter, r *http.Request, _ *principal) {
	d, err := pathDest(r, message.Queue)
	var body []byte
	if err == nil {
		body, err = readBody(w, r)
	}
	var req moveRequest
	var to message.Destination
	if err == nil {
		req, to, err = parseMove(body)
	}
	if err == nil && to == d {
		err = fmt.Errorf("%w: %s is the queue the messages are on", message.ErrBadDestination, to)
	}
	c := s.coreFor(w, r, err)
	if c == nil {
		return
	}
	n, err := c.MoveMessages(r.Context(), d.Name, req.IDs, to, req.Copy)
	if err != nil {
		failOn(w, d, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Moved int `json:"moved"`
	}{n})
}

// idsHandler serves retry and remove: do runs on the ids of the body
// (absent: all, when all is allowed) and its count is answered as key.
func (s *Server) idsHandler(key string, all bool,
	do func(c Core, r *http.Request, queue string, ids []string) (int, error)) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ *principal) {
		d, err := pathDest(r, message.Queue)
		var req idsRequest
		if err == nil {
			err = decodeJSON(w, r, &req)
		}
		if err == nil {
			err = checkIDs(req.IDs, req.IDs != nil)
		}
		if err == nil && req.IDs == nil && !all {
			err = errors.New("ids: give the ids of the messages (POST …/purge removes all)")
		}
		c := s.coreFor(w, r, err)
		if c == nil {
			return
		}
		n, err := do(c, r, d.Name, req.IDs)
		if err != nil {
			failOn(w, d, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{key: n})
	}
}

// retryIDs puts dead letters back on their original destinations.
func retryIDs(c Core, r *http.Request, queue string, ids []string) (int, error) {
	return c.RetryMessages(r.Context(), queue, ids)
}

// removeIDs removes messages.
func removeIDs(c Core, r *http.Request, queue string, ids []string) (int, error) {
	return c.RemoveMessages(r.Context(), queue, ids)
}
