package admin

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/piermq/pier/internal/broker"
	"github.com/piermq/pier/internal/message"
)

// The parsers of what a request names: destinations in paths and bodies,
// and the query parameters of the lists. Each has a fuzz target.

// Page bounds of the lists.
const (
	defaultDestLimit    = 100
	defaultMessageLimit = 50
	maxLimit            = 1000
)

// parseName checks a destination name taken from a path (already
// unescaped): a valid name, UTF-8, no control characters, no wildcard (a
// wildcard names many destinations, and no endpoint acts on many).
func parseName(name string) (string, error) {
	if err := message.ValidateName(name); err != nil {
		return "", err
	}
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: %q is not UTF-8", message.ErrBadDestination, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: %q has a control character", message.ErrBadDestination, name)
		}
	}
	if (message.Destination{Name: name}).IsWildcard() {
		return "", fmt.Errorf("%w: %q is a wildcard; name one destination", message.ErrBadDestination, name)
	}
	return name, nil
}

// parseTarget reads where a move goes: queue://NAME or topic://NAME, one
// destination (no wildcard, no composite, no temporary destination).
func parseTarget(s string) (message.Destination, error) {
	if s == "" {
		return message.Destination{}, fmt.Errorf("%w: give \"to\": queue://NAME or topic://NAME", message.ErrBadDestination)
	}
	d, err := message.ParseDestination(s)
	if err != nil {
		return message.Destination{}, err
	}
	if d.Kind != message.Queue && d.Kind != message.Topic {
		return message.Destination{}, fmt.Errorf("%w: %q: want queue://NAME or topic://NAME", message.ErrBadDestination, s)
	}
	if strings.Contains(d.Name, ",") {
		return message.Destination{}, fmt.Errorf("%w: %q names several destinations; name one", message.ErrBadDestination, s)
	}
	if _, err := parseName(d.Name); err != nil {
		return message.Destination{}, err
	}
	return d, nil
}

// errBadQuery marks a bad query parameter (400).
var errBadQuery = errors.New("bad query parameter")

// parsePage reads offset and limit: offset 0 or more (default 0), limit 1
// to maxLimit (default def).
func parsePage(q url.Values, def int) (offset, limit int, err error) {
	offset, limit = 0, def
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, fmt.Errorf("%w: offset %q: want a number, 0 or more", errBadQuery, v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxLimit {
			return 0, 0, fmt.Errorf("%w: limit %q: want 1 to %d", errBadQuery, v, maxLimit)
		}
	}
	return offset, limit, nil
}

// parseDestQuery reads the parameters of GET /api/v1/destinations: type
// (queue or topic; none: both), q (a substring of the name), sort (name,
// depth, enqueued, dequeued or consumers), desc, offset and limit.
func parseDestQuery(q url.Values) (broker.DestQuery, error) {
	var dq broker.DestQuery
	for k := range q {
		switch k {
		case "type", "q", "sort", "desc", "offset", "limit":
		default:
			return dq, fmt.Errorf("%w: unknown parameter %q", errBadQuery, k)
		}
	}
	switch t := q.Get("type"); t {
	case "":
	case "queue":
		dq.Kind = message.Queue
	case "topic":
		dq.Kind = message.Topic
	default:
		return dq, fmt.Errorf("%w: type %q: want queue or topic", errBadQuery, t)
	}
	dq.Contains = q.Get("q")
	if len(dq.Contains) > 4096 {
		return dq, fmt.Errorf("%w: q is longer than 4096 bytes", errBadQuery)
	}
	switch srt := q.Get("sort"); srt {
	case "", "name", "depth", "enqueued", "dequeued", "consumers":
		dq.Sort = srt
	default:
		return dq, fmt.Errorf("%w: sort %q: want name, depth, enqueued, dequeued or consumers", errBadQuery, srt)
	}
	if v := q.Get("desc"); v != "" {
		desc, err := strconv.ParseBool(v)
		if err != nil {
			return dq, fmt.Errorf("%w: desc %q: want 1 or 0", errBadQuery, v)
		}
		dq.Desc = desc
	}
	var err error
	dq.Offset, dq.Limit, err = parsePage(q, defaultDestLimit)
	return dq, err
}
