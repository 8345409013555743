package main

import (
	"errors"
	"strings"

	"github.com/piermq/pier/client"
)

// internalPrefixes are the prefixes Pier's packages put on their errors
// ("client: connection lost", "bench: destination ..."). They help a
// developer and mean nothing to someone running pier, whose message
// already starts with the command ("pier produce: "); plainError takes
// them out.
var internalPrefixes = []string{
	"client: ", "stompclient: ", "bench: ", "broker: ", "replication: ", "server: ",
	"journal: ", "sqlstore: ", "ha: ", "network: ", "config: ", "auth: ", "store: ",
}

// plainError returns the text of err for a user: a refusal by the broker
// in the broker's words with the exception class after it, and without
// the names of Pier's internal packages.
func plainError(err error) string {
	msg := err.Error()
	var be *client.BrokerError
	if errors.As(err, &be) && be.Message != "" {
		msg = strings.Replace(msg, be.Error(), "the broker refused: "+be.Message+" ("+be.Class+")", 1)
	}
	for changed := true; changed; {
		changed = false
		for _, p := range internalPrefixes {
			if rest, ok := strings.CutPrefix(msg, p); ok {
				msg, changed = rest, true
			}
			if strings.Contains(msg, ": "+p) {
				msg, changed = strings.ReplaceAll(msg, ": "+p, ": "), true
			}
		}
	}
	return msg
}
