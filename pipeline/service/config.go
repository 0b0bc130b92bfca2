package service

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// Defaults for Config's zero values.
const (
	DefaultDataDir         = "quire-data"
	DefaultConcurrency     = 8
	DefaultListen          = "127.0.0.1:8080"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultPrefix          = "quire"
)

// Config configures a Service. The zero value runs the embedded defaults:
// the in-process queue, a filesystem store under DefaultDataDir and HTTP
// on DefaultListen. Every field's default is given in its comment and used
// when the field is zero.
type Config struct {
	// AMQPURL is the RabbitMQ URL (amqp:// or amqps://). Default empty:
	// the embedded in-process queue, which is not durable, and the intake
	// endpoint (POST /intake/...) for quire submit.
	AMQPURL string
	// Prefix starts every RabbitMQ exchange and queue name. Default
	// "quire".
	Prefix string
	// RetryDelays is the retry schedule (broker.Config.RetryDelays).
	// Default: the broker's and memqueue's default schedule.
	RetryDelays []time.Duration
	// S3 is the S3-compatible store. Default: S3.Endpoint empty, and a
	// filesystem store under DataDir.
	S3 s3store.Config
	// DataDir is the filesystem store's directory, when S3.Endpoint is
	// empty. Default "quire-data" (relative to the working directory).
	DataDir string
	// Concurrency is how many envelopes are handled at once. Default 8:
	// the work waits on storage round trips more than on the CPU, and on
	// two cores 8 carried a third more envelopes/s than 4 (docs/pipeline.md).
	Concurrency int
	// Prefetch is how many unacked messages RabbitMQ sends ahead to this
	// process. Default Concurrency; it cannot be smaller.
	Prefetch int
	// Listen is the HTTP address for /metrics, /healthz, /readyz and, in
	// embedded mode, the intake endpoint. Default "127.0.0.1:8080";
	// "127.0.0.1:0" picks a free port (see Service.Addr).
	Listen string
	// ShutdownTimeout bounds the drain after a stop: envelopes in hand
	// finish and settle, then HTTP requests in flight finish, each within
	// this time. Default 30s.
	ShutdownTimeout time.Duration
	// Logger receives structured logs with ids only. Default
	// slog.Default().
	Logger *slog.Logger
	// OnEvent, in embedded mode only, is called with every status event
	// published: quire demo uses it to watch envelopes settle.
	OnEvent func(kind string, body []byte)
}

// Embedded reports whether the in-process queue is used.
func (c Config) Embedded() bool { return c.AMQPURL == "" }

// Validate reports every problem with c at once, in words that name the
// flag or setting.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.AMQPURL != "" {
		if u, err := url.Parse(c.AMQPURL); err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
			add("AMQP URL must look like amqp://user:password@host:5672/vhost (or amqps://)")
		}
	}
	if c.S3.Endpoint == "" {
		if c.S3.Bucket != "" || c.S3.AccessKey != "" || c.S3.SecretKey != "" {
			add("S3 bucket and keys are set but the S3 endpoint is empty: set the endpoint too, or unset them to use the data directory")
		}
	} else {
		if c.S3.Bucket == "" {
			add("S3 bucket is required with an S3 endpoint")
		}
		if c.S3.AccessKey == "" || c.S3.SecretKey == "" {
			add("S3 access key and secret key are required with an S3 endpoint")
		}
	}
	if c.Concurrency < 0 {
		add("concurrency cannot be negative (got %d)", c.Concurrency)
	}
	if c.Prefetch < 0 {
		add("prefetch cannot be negative (got %d)", c.Prefetch)
	}
	if conc := cmp.Or(c.Concurrency, DefaultConcurrency); c.Prefetch > 0 && c.Prefetch < conc {
		add("prefetch (%d) cannot be smaller than concurrency (%d): the extra workers would never get a message", c.Prefetch, conc)
	}
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			add("HTTP listen address %q must be host:port, e.g. 127.0.0.1:8080", c.Listen)
		}
	}
	if c.ShutdownTimeout < 0 {
		add("shutdown timeout cannot be negative (got %v)", c.ShutdownTimeout)
	}
	if c.OnEvent != nil && !c.Embedded() {
		add("OnEvent works only with the embedded queue")
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, DefaultPrefix)
	c.DataDir = cmp.Or(c.DataDir, DefaultDataDir)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.Prefetch = cmp.Or(c.Prefetch, c.Concurrency)
	c.Listen = cmp.Or(c.Listen, DefaultListen)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
