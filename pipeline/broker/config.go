package broker

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// DefaultRetryDelays is the retry schedule when Config.RetryDelays is nil:
// long enough to ride out a storage restart, short enough that an envelope
// still makes the day's cut-off after a brief outage.
var DefaultRetryDelays = []time.Duration{
	time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
}

// Config configures a Broker. Only URL is required; every other field has a
// default, given in its comment, used when the field is zero.
//
// Every process publishing to or consuming from the same prefix must use
// the same Prefix, RetryDelays and DeliveryLimit: they are baked into queue
// names and arguments, and RabbitMQ refuses to re-declare a queue with
// different arguments (see docs/topology.md).
type Config struct {
	// URL is the AMQP URL, e.g. amqp://user:pass@host:5672/vhost. Required.
	URL string
	// Prefix starts every exchange and queue name, so that several Quire
	// deployments (or tests) can share a vhost. Default "quire".
	Prefix string
	// Concurrency is the most handlers one Consume call runs at once.
	// Default 4.
	Concurrency int
	// Prefetch is the most unacknowledged messages the broker sends to
	// each consumer (QoS). Default Concurrency, so that no message waits
	// in this process while another worker is idle. It cannot be smaller
	// than Concurrency.
	Prefetch int
	// RetryDelays is the delay before attempt n+1 after a Retry on attempt
	// n; one TTL queue per step. A Retry on attempt len(RetryDelays)+1
	// dead-letters with reason "retries-exhausted". Nil means
	// DefaultRetryDelays; an empty, non-nil slice means no retries. Each
	// delay is a whole number of milliseconds, at least 1ms.
	RetryDelays []time.Duration
	// DeliveryLimit is the work queues' x-delivery-limit: how many times a
	// message may go back to the queue unsettled (a worker crashed or
	// panicked holding it, or lost its connection) before RabbitMQ
	// dead-letters it. Default 5.
	DeliveryLimit int
	// DeadLimit and DeadBytes bound the dead-letter queue (x-max-length,
	// x-max-length-bytes, with x-overflow drop-head: the oldest dead
	// letters go first). Dead letters are copies for an operator, whose
	// envelopes were already reported rejected; unbounded, a flood of
	// poison messages would fill the broker's disk and stop every
	// publisher. Defaults DefaultDeadLimit and DefaultDeadBytes.
	DeadLimit int
	DeadBytes int64
	// ReconnectMin and ReconnectMax bound the exponential backoff, with
	// jitter, between connection attempts. Defaults 250ms and 30s.
	ReconnectMin, ReconnectMax time.Duration
	// Heartbeat is the AMQP heartbeat interval; a dead peer is noticed
	// after about two of them. Default 10s.
	Heartbeat time.Duration
	// ConnectionName names this process's connections in the management
	// UI. Default "quire".
	ConnectionName string
	// Now stamps published messages and dead letters. Default time.Now.
	Now func() time.Time
	// NewID returns the message id for Publish. Default: 26 random base32
	// characters.
	NewID func() string
	// Logger receives connection and handler-bug reports, with message ids
	// only. Default slog.Default().
	Logger *slog.Logger
	// TLS configures an amqps:// connection: the authorities the broker's
	// certificate is checked against, a client certificate. Default nil:
	// the system's authorities. The server name is the URL's host unless
	// set here.
	TLS *tls.Config
}

func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("broker: "+format, args...)) }
	if c.URL == "" {
		add("URL is required")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		add("URL must be an amqp:// or amqps:// URL")
	}
	if c.Concurrency < 0 {
		add("Concurrency cannot be negative (got %d)", c.Concurrency)
	}
	if c.Prefetch < 0 {
		add("Prefetch cannot be negative (got %d)", c.Prefetch)
	}
	if conc := cmp0(c.Concurrency, defaultConcurrency); c.Prefetch > 0 && c.Prefetch < conc {
		add("Prefetch (%d) cannot be smaller than Concurrency (%d): the extra handlers would never get a message", c.Prefetch, conc)
	}
	if c.DeadLimit < 0 {
		add("DeadLimit cannot be negative (got %d)", c.DeadLimit)
	}
	if c.DeadBytes < 0 {
		add("DeadBytes cannot be negative (got %d)", c.DeadBytes)
	}
	if c.DeliveryLimit < 0 {
		add("DeliveryLimit cannot be negative (got %d)", c.DeliveryLimit)
	}
	for i, d := range c.RetryDelays {
		if d < time.Millisecond || d%time.Millisecond != 0 {
			add("RetryDelays[%d] must be a whole number of milliseconds, at least 1ms (got %v)", i, d)
		}
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < 0 {
		add("ReconnectMin and ReconnectMax cannot be negative")
	}
	if c.ReconnectMin > 0 && c.ReconnectMax > 0 && c.ReconnectMax < c.ReconnectMin {
		add("ReconnectMax (%v) cannot be shorter than ReconnectMin (%v)", c.ReconnectMax, c.ReconnectMin)
	}
	if c.Heartbeat < 0 {
		add("Heartbeat cannot be negative (got %v)", c.Heartbeat)
	}
	return errors.Join(errs...)
}

const defaultConcurrency = 4

// cmp0 returns v, or def when v is zero.
func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp0(c.Prefix, "quire")
	c.Concurrency = cmp0(c.Concurrency, defaultConcurrency)
	c.Prefetch = cmp0(c.Prefetch, c.Concurrency)
	if c.RetryDelays == nil {
		c.RetryDelays = DefaultRetryDelays
	}
	c.DeliveryLimit = cmp0(c.DeliveryLimit, 5)
	c.DeadLimit = cmp0(c.DeadLimit, DefaultDeadLimit)
	c.DeadBytes = cmp0(c.DeadBytes, DefaultDeadBytes)
	c.ReconnectMin = cmp0(c.ReconnectMin, 250*time.Millisecond)
	c.ReconnectMax = cmp0(c.ReconnectMax, 30*time.Second)
	if c.ReconnectMax < c.ReconnectMin {
		c.ReconnectMax = c.ReconnectMin
	}
	c.Heartbeat = cmp0(c.Heartbeat, 10*time.Second)
	c.ConnectionName = cmp0(c.ConnectionName, "quire")
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.NewID == nil {
		c.NewID = rand.Text
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
