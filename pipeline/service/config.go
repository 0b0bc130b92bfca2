package service

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
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
	// Listen is the HTTP address of every audience (Public, Supplier,
	// Admin) without an address of its own: one address for all is fine
	// for development. Default "127.0.0.1:8080"; "127.0.0.1:0" picks a
	// free port (see Service.Addr).
	Listen string
	// Public is the parents' listener: the /preview page and the preview
	// API. It needs neither RabbitMQ nor S3 to be ready. Default: on
	// Listen.
	Public Listener
	// Supplier is the print supplier's listener: the pull API, with the
	// pull adapter only. It is ready while storage answers. Default: on
	// Listen.
	Supplier Listener
	// Admin is the operators' listener: /metrics, /healthz, /readyz
	// (every dependency) and, with the embedded queue, the intake
	// endpoint. Keep it private. Default: on Listen.
	Admin Listener
	// IntakeTokenSHA256 is the lowercase hex SHA-256 of a token the
	// intake endpoint then requires (Authorization: Bearer <token>), from
	// any client; make one with "quire batches token". Default empty: no
	// token, and loopback clients only.
	IntakeTokenSHA256 string
	// ReferenceKeyFile is a file holding the secret key (at least 32
	// bytes; surrounding white space is ignored) of the reference index,
	// which finds envelopes by certificate reference through keyed hashes
	// (pipeline/storage/refindex). The worker indexes each envelope it
	// stores; the status API and quire envelopes show look references up.
	// Default empty: no index is written, and lookup by reference is off.
	ReferenceKeyFile string
	// StatusTokensFile is a file of the status API's token hashes, one
	// "name:sha256" a line (make them with "quire envelopes token"). When
	// set, the admin listener serves the status API under /internal/v1/.
	// Default empty: no status API.
	StatusTokensFile string
	// AMQPCAFile is a PEM file of the certificate authorities an amqps://
	// broker's certificate is checked against, instead of the system's.
	// Default empty: the system's.
	AMQPCAFile string
	// Batching makes print batches and hands them to a supplier. Default:
	// Batching.Supplier empty, no batching.
	Batching BatchConfig
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
		if (c.S3.AccessKey == "") != (c.S3.SecretKey == "") {
			add("S3 access key and secret key go together: set both, or neither to take credentials from the AWS environment, web identity or the instance role")
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
	for _, l := range c.listeners() {
		if err := l.validate(l.aud); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Supplier.Addr != "" && c.Supplier.Addr != ListenerOff && !c.Batching.servesPull() {
		add("the supplier listener serves only the pull API: set the supplier and the pull adapter, or leave its address empty")
	}
	if c.IntakeTokenSHA256 != "" && !hashShape.MatchString(c.IntakeTokenSHA256) {
		add("intake token hash must be 64 lowercase hex digits (the sha256 line of quire batches token)")
	}
	if c.StatusTokensFile != "" && c.Admin.Addr == ListenerOff {
		add("status tokens file is set but the admin listener is off: the status API is served on the admin listener")
	}
	if c.AMQPCAFile != "" && !strings.HasPrefix(c.AMQPURL, "amqps://") {
		add("AMQP CA file is set but the AMQP URL is not amqps://: the broker would be reached without TLS")
	}
	if c.Batching.Supplier != "" {
		if err := c.Batching.validate(); err != nil {
			errs = append(errs, err)
		}
		if c.Batching.Lifecycle && c.S3.Endpoint == "" {
			add("S3 lifecycle rules need an S3 store: set the S3 endpoint, or leave lifecycle rules off")
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

var hashShape = regexp.MustCompile(`^[0-9a-f]{64}$`)

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
