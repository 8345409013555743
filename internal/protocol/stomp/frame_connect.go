package stomp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Negotiate picks the highest version listed in an accept-version header
// value (comma separated) that is also in supported. An empty header means
// 1.0, as the specification says.
func Negotiate(acceptVersion string, supported ...Version) (Version, bool) {
	if strings.TrimSpace(acceptVersion) == "" {
		acceptVersion = "1.0"
	}
	var best Version
	for _, s := range strings.Split(acceptVersion, ",") {
		v, err := ParseVersion(strings.TrimSpace(s))
		if err != nil || v <= best {
			continue
		}
		for _, sv := range supported {
			if sv == v {
				best = v
			}
		}
	}
	return best, best != 0
}

// ParseHeartBeat parses a heart-beat header value "x,y" in milliseconds.
// For a client's header, x is how often it can send and y how often it
// wants to receive; 0 means never. An empty value is "0,0".
func ParseHeartBeat(s string) (x, y time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("stomp: heart-beat %q: want x,y", s)
	}
	ms := func(t string) (time.Duration, error) {
		n, err := strconv.ParseUint(strings.TrimSpace(t), 10, 31)
		if err != nil {
			return 0, fmt.Errorf("stomp: heart-beat %q: %w", s, err)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	if x, err = ms(a); err != nil {
		return 0, 0, err
	}
	if y, err = ms(b); err != nil {
		return 0, 0, err
	}
	return x, y, nil
}

// FormatHeartBeat renders a heart-beat header value, in whole milliseconds.
func FormatHeartBeat(x, y time.Duration) string {
	return strconv.FormatInt(x.Milliseconds(), 10) + "," + strconv.FormatInt(y.Milliseconds(), 10)
}

// HeartBeatInterval returns how often one side must send, given how often it
// offers to send (canSend) and how often the peer wants to receive
// (wantRecv): the larger of the two, or 0 (never) if either is 0.
func HeartBeatInterval(canSend, wantRecv time.Duration) time.Duration {
	if canSend <= 0 || wantRecv <= 0 {
		return 0
	}
	return max(canSend, wantRecv)
}
