package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FailoverOptions are the options of ActiveMQ's failover transport (5.17.6
// FailoverTransport and the failover transport reference). Delays are
// written in milliseconds in URLs. DefaultFailoverOptions gives ActiveMQ's
// defaults.
type FailoverOptions struct {
	// InitialReconnectDelay (initialReconnectDelay, default 10 ms) is the
	// wait before the first pass over the brokers after a lost connection,
	// and after the first failed pass at startup.
	InitialReconnectDelay time.Duration
	// MaxReconnectDelay (maxReconnectDelay, default 30 s) caps the wait
	// between passes.
	MaxReconnectDelay time.Duration
	// UseExponentialBackOff (useExponentialBackOff, default true) multiplies
	// the wait by ReconnectDelayExponent after each failed pass; when false
	// every wait is InitialReconnectDelay.
	UseExponentialBackOff bool
	// ReconnectDelayExponent (reconnectDelayExponent, default 2.0, at least
	// 1) is the back-off multiplier.
	ReconnectDelayExponent float64
	// MaxReconnectAttempts (maxReconnectAttempts, default -1) limits the
	// passes over the broker list once a connection has been made: -1
	// retries forever, 0 does not reconnect at all after a lost connection,
	// n > 0 gives up after n failed passes and fails the connection.
	MaxReconnectAttempts int
	// StartupMaxReconnectAttempts (startupMaxReconnectAttempts, default -1)
	// limits the passes before the first connection: n >= 0 as above (0 and
	// 1 both allow a single pass); -1 means "use MaxReconnectAttempts" (the
	// 5.17 code falls back to it; the reference page says "unlimited", which
	// is only true while MaxReconnectAttempts is -1 too).
	StartupMaxReconnectAttempts int
	// Randomize (randomize, default true) shuffles the broker list before
	// every pass; false tries the brokers in the order written.
	Randomize bool
	// Timeout (timeout, default -1 ms) bounds how long a send waits while
	// no broker is connected; zero or negative waits forever. The
	// connection is not closed when it expires.
	Timeout time.Duration
	// PriorityBackup (priorityBackup, default false): while connected to a
	// broker that is not a priority broker, keep trying the priority ones
	// and move back as soon as one answers.
	PriorityBackup bool
	// PriorityURIs (priorityURIs, comma separated) are the priority
	// brokers; empty means only the first broker of the URL.
	PriorityURIs []BrokerURL
	// UpdateURIsSupported (updateURIsSupported, default true) accepts the
	// broker list a broker pushes in ConnectionControl.connectedBrokers.
	UpdateURIsSupported bool
	// ReconnectSupported (reconnectSupported, default true) obeys a
	// broker's ConnectionControl.reconnectTo and rebalance requests.
	ReconnectSupported bool
	// WarnAfterReconnectAttempts (warnAfterReconnectAttempts, default 10):
	// log a warning after the first and every n-th failed pass; <= 0
	// disables the warnings.
	WarnAfterReconnectAttempts int

	// The options below are parsed and validated but not honoured by
	// Pier's client; URL.Unsupported reports them when set to a value that
	// would matter.

	// Backup (backup, default false) keeps a second connection open for
	// fast failover.
	Backup bool
	// BackupPoolSize (backupPoolSize, default 1) is how many backups.
	BackupPoolSize int
	// TrackMessages (trackMessages, default false) caches in-flight
	// messages and resends them on reconnect.
	TrackMessages bool
	// MaxCacheSize (maxCacheSize, default 131072 bytes) sizes that cache.
	MaxCacheSize int
	// TrackTransactionProducers (trackTransactionProducers, default true)
	// replays producers closed inside an open transaction.
	TrackTransactionProducers bool
	// UpdateURIsURL (updateURIsURL) names a URL or file holding a comma
	// list of brokers, re-read before every reconnect.
	UpdateURIsURL string
	// RebalanceUpdateURIs (rebalanceUpdateURIs, default true) rebalances
	// when the UpdateURIsURL list changes.
	RebalanceUpdateURIs bool
	// ReconnectDelay (reconnectDelay, default 10 ms) is the internal
	// current delay; ActiveMQ exposes a setter, so the URL option exists.
	ReconnectDelay time.Duration
}

// DefaultFailoverOptions returns ActiveMQ 5.17's failover defaults.
func DefaultFailoverOptions() FailoverOptions {
	return FailoverOptions{
		InitialReconnectDelay:       10 * time.Millisecond,
		MaxReconnectDelay:           30 * time.Second,
		UseExponentialBackOff:       true,
		ReconnectDelayExponent:      2,
		MaxReconnectAttempts:        -1,
		StartupMaxReconnectAttempts: -1,
		Randomize:                   true,
		Timeout:                     -time.Millisecond,
		UpdateURIsSupported:         true,
		ReconnectSupported:          true,
		WarnAfterReconnectAttempts:  10,
		BackupPoolSize:              1,
		MaxCacheSize:                128 * 1024,
		TrackTransactionProducers:   true,
		RebalanceUpdateURIs:         true,
		ReconnectDelay:              10 * time.Millisecond,
	}
}

// failoverOptions validates the failover URL's own options (names as in
// ActiveMQ); unsupported ones carry the value that makes them harmless.
var failoverOptions = map[string]optSpec{
	"initialReconnectDelay":       {kind: kindLong, def: "10", min: 0, supported: true},
	"maxReconnectDelay":           {kind: kindLong, def: "30000", min: 0, supported: true},
	"useExponentialBackOff":       {kind: kindBool, def: "true", supported: true},
	"reconnectDelayExponent":      {kind: kindFloat, def: "2", supported: true},
	"maxReconnectAttempts":        {kind: kindInt, def: "-1", min: -1, supported: true},
	"startupMaxReconnectAttempts": {kind: kindInt, def: "-1", min: -1, supported: true},
	"randomize":                   {kind: kindBool, def: "true", supported: true},
	"timeout":                     {kind: kindLong, def: "-1", min: noMin, supported: true},
	"priorityBackup":              {kind: kindBool, def: "false", supported: true},
	"priorityURIs":                {kind: kindString, supported: true},
	"updateURIsSupported":         {kind: kindBool, def: "true", supported: true},
	"reconnectSupported":          {kind: kindBool, def: "true", supported: true},
	"warnAfterReconnectAttempts":  {kind: kindInt, def: "10", min: noMin, supported: true},
	"backup":                      {kind: kindBool, def: "false", inert: "false"},
	"backupPoolSize":              {kind: kindInt, def: "1", min: 0, inert: "1"},
	"trackMessages":               {kind: kindBool, def: "false", inert: "false"},
	"maxCacheSize":                {kind: kindInt, def: "131072", min: 0, inert: "131072"},
	"trackTransactionProducers":   {kind: kindBool, def: "true", inert: "true"},
	"updateURIsURL":               {kind: kindString},
	"rebalanceUpdateURIs":         {kind: kindBool, def: "true", inert: "true"},
	"reconnectDelay":              {kind: kindLong, def: "10", min: 0, inert: "10"},
}

// parseFailoverQuery applies the query after "failover:(...)".
func (u *URL) parseFailoverQuery(q string) error {
	pairs, err := splitQuery(q)
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	for _, p := range pairs {
		if rest, ok := strings.CutPrefix(p.name, "jms."); ok {
			if u.JMS, err = setOption(u.JMS, "jms", rest, p, jmsOptions); err != nil {
				return err
			}
			continue
		}
		if rest, ok := strings.CutPrefix(p.name, "nested."); ok {
			if u.Nested, err = setOption(u.Nested, "nested transport", rest, p, transportOptions); err != nil {
				return err
			}
			continue
		}
		spec, ok := failoverOptions[p.name]
		if !ok {
			return unknownOption("failover", p.name, failoverOptions)
		}
		v, err := normalizeValue(p.name, p.value, p.bare, spec)
		if err != nil {
			return err
		}
		if err := u.Options.set(p.name, v); err != nil {
			return err
		}
	}
	return nil
}

// set stores the normalised value v of the failover option name.
func (o *FailoverOptions) set(name, v string) error {
	n, _ := strconv.ParseInt(v, 10, 64)
	b := v == "true"
	ms := time.Duration(n) * time.Millisecond
	switch name {
	case "initialReconnectDelay":
		o.InitialReconnectDelay = ms
	case "maxReconnectDelay":
		o.MaxReconnectDelay = ms
	case "useExponentialBackOff":
		o.UseExponentialBackOff = b
	case "reconnectDelayExponent":
		f, _ := strconv.ParseFloat(v, 64)
		if f < 1 {
			return fmt.Errorf("%w: reconnectDelayExponent=%s: must be at least 1", ErrInvalidURL, v)
		}
		o.ReconnectDelayExponent = f
	case "maxReconnectAttempts":
		o.MaxReconnectAttempts = int(n)
	case "startupMaxReconnectAttempts":
		o.StartupMaxReconnectAttempts = int(n)
	case "randomize":
		o.Randomize = b
	case "timeout":
		o.Timeout = ms
	case "priorityBackup":
		o.PriorityBackup = b
	case "priorityURIs":
		list, err := ParseBrokerList(v)
		if err != nil {
			return fmt.Errorf("failover: priorityURIs: %w", err)
		}
		o.PriorityURIs = list
	case "updateURIsSupported":
		o.UpdateURIsSupported = b
	case "reconnectSupported":
		o.ReconnectSupported = b
	case "warnAfterReconnectAttempts":
		o.WarnAfterReconnectAttempts = int(n)
	default:
		o.setUnsupported(name, v, n, b)
	}
	return nil
}

func (o *FailoverOptions) setUnsupported(name, v string, n int64, b bool) {
	switch name {
	case "backup":
		o.Backup = b
	case "backupPoolSize":
		o.BackupPoolSize = int(n)
	case "trackMessages":
		o.TrackMessages = b
	case "maxCacheSize":
		o.MaxCacheSize = int(n)
	case "trackTransactionProducers":
		o.TrackTransactionProducers = b
	case "updateURIsURL":
		o.UpdateURIsURL = v
	case "rebalanceUpdateURIs":
		o.RebalanceUpdateURIs = b
	case "reconnectDelay":
		o.ReconnectDelay = time.Duration(n) * time.Millisecond
	}
}

// values renders every option as its URL text (durations in whole ms).
func (o *FailoverOptions) values() map[string]string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	bl := strconv.FormatBool
	it := strconv.Itoa
	m := map[string]string{
		"initialReconnectDelay":       ms(o.InitialReconnectDelay),
		"maxReconnectDelay":           ms(o.MaxReconnectDelay),
		"useExponentialBackOff":       bl(o.UseExponentialBackOff),
		"reconnectDelayExponent":      strconv.FormatFloat(o.ReconnectDelayExponent, 'g', -1, 64),
		"maxReconnectAttempts":        it(o.MaxReconnectAttempts),
		"startupMaxReconnectAttempts": it(o.StartupMaxReconnectAttempts),
		"randomize":                   bl(o.Randomize),
		"timeout":                     ms(o.Timeout),
		"priorityBackup":              bl(o.PriorityBackup),
		"updateURIsSupported":         bl(o.UpdateURIsSupported),
		"reconnectSupported":          bl(o.ReconnectSupported),
		"warnAfterReconnectAttempts":  it(o.WarnAfterReconnectAttempts),
		"backup":                      bl(o.Backup),
		"backupPoolSize":              it(o.BackupPoolSize),
		"trackMessages":               bl(o.TrackMessages),
		"maxCacheSize":                it(o.MaxCacheSize),
		"trackTransactionProducers":   bl(o.TrackTransactionProducers),
		"updateURIsURL":               o.UpdateURIsURL,
		"rebalanceUpdateURIs":         bl(o.RebalanceUpdateURIs),
		"reconnectDelay":              ms(o.ReconnectDelay),
	}
	if len(o.PriorityURIs) > 0 {
		s := make([]string, len(o.PriorityURIs))
		for i, b := range o.PriorityURIs {
			s[i] = b.String()
		}
		m["priorityURIs"] = strings.Join(s, ",")
	} else {
		m["priorityURIs"] = ""
	}
	return m
}

// nonDefault returns the options whose values differ from ActiveMQ's
// defaults, as URL text.
func (o *FailoverOptions) nonDefault() map[string]string {
	out := make(map[string]string)
	for k, v := range o.values() {
		if v != failoverOptions[k].def {
			out[k] = v
		}
	}
	return out
}

// unsupported returns "name=value" for each option Pier does not honour
// that is set to a value that would matter.
func (o *FailoverOptions) unsupported() []string {
	var out []string
	for k, v := range o.values() {
		spec := failoverOptions[k]
		if !spec.supported && v != spec.inert {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// Validate reports option values ActiveMQ would misbehave with or Pier
// rejects; ParseURL only returns options that pass it.
func (o *FailoverOptions) Validate() error {
	switch {
	case o.InitialReconnectDelay < 0, o.MaxReconnectDelay < 0, o.ReconnectDelay < 0:
		return fmt.Errorf("%w: failover: negative reconnect delay", ErrInvalidURL)
	case !(o.ReconnectDelayExponent >= 1):
		return fmt.Errorf("%w: failover: reconnectDelayExponent %v: must be at least 1", ErrInvalidURL, o.ReconnectDelayExponent)
	case o.MaxReconnectAttempts < -1, o.StartupMaxReconnectAttempts < -1:
		return fmt.Errorf("%w: failover: reconnect attempts must be -1 (forever) or more", ErrInvalidURL)
	case o.BackupPoolSize < 0, o.MaxCacheSize < 0:
		return fmt.Errorf("%w: failover: negative backupPoolSize or maxCacheSize", ErrInvalidURL)
	}
	return nil
}
