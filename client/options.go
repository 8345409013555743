package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Options configure a connection. The zero value is usable; EnsureDefaults
// fills unset fields with the ActiveMQ 5.17 JMS client's defaults.
type Options struct {
	// ClientID identifies the connection to the broker (needed for durable
	// subscriptions). Empty: the client generates one, as Java does.
	ClientID string
	// Username and Password authenticate the connection (sent in its
	// ConnectionInfo). A broker that refuses them answers with a
	// SecurityException: Dial's error then matches ErrSecurity.
	Username, Password string
	// TLS configures the connections to ssl:// and nio+ssl:// brokers: the
	// CAs trusted (RootCAs), a client certificate (Certificates or
	// GetClientCertificate), versions, and so on; tcp:// brokers ignore
	// it. Nil: the system's roots and no client certificate. Without a
	// ServerName, each broker's certificate must name the host dialled (so
	// one Config serves a failover list), unless the broker's URI says
	// socket.verifyHostName=false (the chain is still verified). Dial does
	// not modify it.
	TLS *tls.Config
	// Bridge, when set, makes this a network bridge's connection: its
	// BrokerInfo is sent on every socket before the ConnectionInfo, as
	// ActiveMQ's bridges do, so that the broker knows a duplex bridge's
	// request when it authenticates the login (see AnnounceBridge).
	Bridge *BridgeInfo
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// ConnectTimeout bounds the TCP connect and the wire format negotiation
	// when the Dial context has no earlier deadline (Java's
	// connectionTimeout 30 s and negotiation timeout 10 s). Default 30 s.
	ConnectTimeout time.Duration
	// MaxInactivity is the keep-alive interval offered to the broker
	// (MaxInactivityDuration); the negotiated value is the smaller of both
	// sides, 0 on either side disables keep-alive. Default 30 s; negative
	// disables it on this side.
	MaxInactivity time.Duration
	// InactivityInitialDelay is offered as MaxInactivityDurationInitalDelay.
	// Default 10 s.
	InactivityInitialDelay time.Duration
	// Prefetch holds the default prefetch sizes per kind of consumer.
	Prefetch PrefetchPolicy
	// WatchTopicAdvisories subscribes to the temporary destination
	// advisories, as Java does by default, so sends to a deleted (or never
	// announced) temporary destination fail fast. Default true; set
	// NoTopicAdvisories to turn it off.
	NoTopicAdvisories bool
	// SendTimeout bounds a synchronous send when its context has no
	// deadline; 0 waits for the broker as long as the context allows.
	SendTimeout time.Duration
	// AlwaysSyncSend makes every send wait for the broker, non-persistent
	// and transacted ones too (Java's alwaysSyncSend).
	AlwaysSyncSend bool
	// CloseTimeout bounds how long Close waits for the broker's answer to
	// the connection's RemoveInfo. Default 15 s, as Java.
	CloseTimeout time.Duration
	// MaxRedeliveries is how often a message is redelivered locally after
	// Rollback or Recover before it is poison-acknowledged (the broker
	// dead-letters it). Default 6, as Java's RedeliveryPolicy; negative
	// means no limit.
	MaxRedeliveries int
	// RedeliveryDelay is waited before messages are handed out again after
	// Rollback or Recover. Default 0 (no delay).
	RedeliveryDelay time.Duration
	// WriteTimeout bounds one socket write. Default 30 s.
	WriteTimeout time.Duration
	// MaxFrameSize bounds frames read from the broker. Default 100 MiB.
	MaxFrameSize int

	// OnInterrupted is called when a failover connection loses its socket,
	// once per outage, before it reconnects; err says why. It runs on the
	// connection's failover goroutine: it must not block for long and must
	// not call Conn.Close.
	OnInterrupted func(err error)
	// OnResumed is called once the failover connection is restored on a new
	// socket (state replayed, in-flight requests resent), with the
	// broker's host:port. Same rules as OnInterrupted.
	OnResumed func(broker string)
	// OnAsyncError is called with each error the broker reports for a
	// command that was sent without waiting for an answer (a ConnectionError:
	// for example a non-persistent send the broker refused, which matches
	// ErrSecurity when the user may not write there): Java's
	// ExceptionListener. The error is a *BrokerError. It runs on the
	// socket's read loop: it must not block and must not call Conn.Close.
	// Nil: such errors are only logged.
	OnAsyncError func(err error)

	// sleep waits between reconnect passes; tests replace it to observe
	// the back-off without waiting. Nil: a timer.
	sleep func(ctx context.Context, d time.Duration) error
}

// PrefetchPolicy is ActiveMQPrefetchPolicy: how many messages the broker may
// push to a consumer before it acknowledges. Zero fields take the defaults.
type PrefetchPolicy struct {
	Queue        int // default 1000
	Topic        int // default 32767
	DurableTopic int // default 100
	QueueBrowser int // default 500
}

// EnsureDefaults fills unset fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDur(&o.ConnectTimeout, 30*time.Second)
	setDur(&o.MaxInactivity, 30*time.Second)
	setDur(&o.InactivityInitialDelay, 10*time.Second)
	setDur(&o.CloseTimeout, 15*time.Second)
	setDur(&o.WriteTimeout, 30*time.Second)
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&o.Prefetch.Queue, 1000)
	setInt(&o.Prefetch.Topic, 32767)
	setInt(&o.Prefetch.DurableTopic, 100)
	setInt(&o.Prefetch.QueueBrowser, 500)
	setInt(&o.MaxRedeliveries, 6)
	setInt(&o.MaxFrameSize, 100<<20)
}

// Validate reports options that cannot work.
func (o *Options) Validate() error {
	var errs []error
	if o.ConnectTimeout < 0 || o.CloseTimeout < 0 || o.SendTimeout < 0 || o.WriteTimeout < 0 ||
		o.InactivityInitialDelay < 0 || o.RedeliveryDelay < 0 {
		errs = append(errs, errors.New("timeouts and delays must not be negative"))
	}
	p := o.Prefetch
	if p.Queue < 0 || p.Topic < 0 || p.DurableTopic < 0 || p.QueueBrowser < 0 {
		errs = append(errs, fmt.Errorf("prefetch sizes must not be negative: %+v", p))
	}
	if o.MaxFrameSize < 0 {
		errs = append(errs, fmt.Errorf("MaxFrameSize %d is negative", o.MaxFrameSize))
	}
	if len(errs) > 0 {
		return fmt.Errorf("client: options: %w", errors.Join(errs...))
	}
	return nil
}
