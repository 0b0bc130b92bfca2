package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/internal/memlimit"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// serveSettings are quire serve's settings as read from flags and the
// environment.
type serveSettings struct {
	cfg      *service.Config
	memory   string
	logs     *logSettings
	batching *batchSettings
}

// serveFlags defines quire serve's flags on a new set writing to w.
func serveFlags(w io.Writer) (*envflag.Set, *serveSettings) {
	s := envflag.New("serve", w)
	st := &serveSettings{cfg: serviceFlags(s)}
	listenerFlags(s, st.cfg)
	referenceKeyFlag(s, st.cfg)
	s.String(&st.memory, "memory-limit", "QUIRE_MEMORY_LIMIT", "", "soft memory `limit` of the Go runtime, e.g. 512MiB, or off; empty: GOMEMLIMIT if set, else "+
		fmt.Sprint(memlimit.ContainerPercent)+"% of the container's cgroup limit, else "+fmt.Sprint(defaultMemoryLimit>>20)+"MiB")
	st.logs = logFlags(s)
	st.batching = batchFlags(s)
	return s, st
}

// defaultMemoryLimit is quire serve's soft memory limit outside a container
// with a limit: with GOGC at 300 and the preview cache full, the heap would
// otherwise grow to several hundred MB under a load of new previews.
const defaultMemoryLimit = 112 << 20

// runServe implements "quire serve": it turns flags and environment into
// a service.Config and runs the service until SIGINT or SIGTERM, then a
// drain.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags, st := serveFlags(stderr)
	fs := flags.FlagSet()
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: quire serve [flags]

Consumes envelope requests and cancellations, renders and stores envelopes,
publishes status events, makes print batches (--supplier), and serves HTTP
by audience: public (the /preview page and preview API), supplier (the pull
API) and admin (/metrics, /healthz, /readyz, and the intake endpoint of the
embedded queue). Every audience is served on --listen unless given an
address of its own.

With no --amqp-url and no --s3-endpoint it runs the embedded defaults: an
in-process queue (not durable) and a filesystem store under --data-dir.
Every flag can also be set by the environment variable shown; a flag given
on the command line wins.

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	if len(flags.Args()) > 0 {
		fmt.Fprintf(stderr, "quire serve: unexpected arguments %q: serve takes flags only\n", flags.Args())
		return 2
	}
	cfg := st.cfg
	logger, err := st.logs.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 2
	}
	cfg.Logger = logger
	mem, err := memlimit.Apply(st.memory, defaultMemoryLimit, "/sys/fs/cgroup")
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: QUIRE_MEMORY_LIMIT / --memory-limit: %v\n", err)
		return 2
	}
	logger.Info("quire serve: memory limit", "bytes", mem.Bytes, "from", mem.Source)
	if cfg.Batching, err = st.batching.config(); err != nil {
		fmt.Fprintf(stderr, "quire serve: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire serve: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	if err := service.Run(ctx, *cfg); err != nil {
		logger.Error("quire serve: stopped with an error", "err", err)
		return 1
	}
	return 0
}

// parseFlags parses args into s. If ok is false the command returns code:
// 0 after --help, 2 for a wrong flag or environment variable (s has
// written why).
func parseFlags(s *envflag.Set, args []string) (code int, ok bool) {
	switch err := s.Parse(args); {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		return 0, false
	}
	return 2, false
}

// serviceFlags defines the queue, store and worker settings, shared by
// quire serve and quire load.
func serviceFlags(s *envflag.Set) *service.Config {
	c := storeQueueFlags(s)
	workerFlags(s, c)
	return c
}

// storeQueueFlags defines the queue and store settings alone: what the
// operators' tools (quire batches, quire envelopes) need to reach the
// broker and bucket quire serve uses. They render nothing, so the
// worker's settings would only clutter their help.
func storeQueueFlags(s *envflag.Set) *service.Config {
	c := &service.Config{}
	s.String(&c.AMQPURL, "amqp-url", "QUIRE_AMQP_URL", "", "RabbitMQ `URL` (amqp://user:pass@host:5672/vhost, or amqps:// for TLS); empty: the embedded in-process queue")
	s.String(&c.AMQPCAFile, "amqp-ca-file", "QUIRE_AMQP_CA_FILE", "", "PEM `file` of the authorities an amqps:// broker's certificate is checked against; empty: the system's")
	s.String(&c.Prefix, "amqp-prefix", "QUIRE_AMQP_PREFIX", service.DefaultPrefix, "`prefix` of every RabbitMQ exchange and queue name")
	s.String(&c.S3.Endpoint, "s3-endpoint", "QUIRE_S3_ENDPOINT", "", "S3 `host[:port]`, without a scheme; empty: files under --data-dir")
	s.String(&c.S3.Bucket, "s3-bucket", "QUIRE_S3_BUCKET", "", "S3 `bucket`; required with --s3-endpoint")
	s.String(&c.S3.Region, "s3-region", "QUIRE_S3_REGION", "", "S3 `region`, e.g. eu-west-2; empty: ask the service")
	s.Secret(&c.S3.AccessKey, "s3-access-key", "QUIRE_S3_ACCESS_KEY", "S3 access `key`; prefer the environment variable; empty (with the secret key): AWS_ACCESS_KEY_ID, web identity (IRSA) or the instance role")
	s.Secret(&c.S3.SecretKey, "s3-secret-key", "QUIRE_S3_SECRET_KEY", "S3 secret `key`; prefer the environment variable")
	s.String(&c.S3.CAFile, "s3-ca-file", "QUIRE_S3_CA_FILE", "", "PEM `file` of the authorities the S3 service's certificate is checked against; empty: the system's")
	s.String(&c.S3.Prefix, "s3-prefix", "QUIRE_S3_PREFIX", "", "`prefix` for every object key, ending in /, to share a bucket")
	s.Bool(&c.S3.DisableTLS, "s3-disable-tls", "QUIRE_S3_DISABLE_TLS", false, "talk plain HTTP to S3 (loopback tests only: objects hold personal data)")
	s.Bool(&c.S3.PathStyle, "s3-path-style", "QUIRE_S3_PATH_STYLE", false, "path-style bucket addressing (Ceph RGW, MinIO without wildcard DNS)")
	s.String(&c.S3.Encryption, "s3-sse", "QUIRE_S3_SSE", s3store.EncryptionNone, "server-side `encryption`: none, SSE-S3 or SSE-KMS")
	s.String(&c.S3.KMSKeyID, "s3-kms-key-id", "QUIRE_S3_KMS_KEY_ID", "", "KMS `key id` for --s3-sse SSE-KMS")
	s.Duration(&c.S3.RequestTimeout, "s3-request-timeout", "QUIRE_S3_REQUEST_TIMEOUT", s3store.DefaultRequestTimeout, "longest one S3 request may wait on the service without progress before it fails like a refused connection and closes the storage gate (`duration`)")
	s.Bool(&c.S3.CreateBucket, "s3-create-bucket", "QUIRE_S3_CREATE_BUCKET", false, "create the bucket at start if it does not exist")
	s.String(&c.DataDir, "data-dir", "QUIRE_DATA_DIR", service.DefaultDataDir, "`directory` of the filesystem store, without --s3-endpoint")
	return c
}

// workerFlags defines the worker's settings: how much it takes on at once
// and how long a stop waits for it.
func workerFlags(s *envflag.Set, c *service.Config) {
	s.Int(&c.Concurrency, "concurrency", "QUIRE_CONCURRENCY", service.DefaultConcurrency, "envelopes handled at once (`n`)")
	s.Int(&c.Prefetch, "prefetch", "QUIRE_PREFETCH", 0, "unacked messages RabbitMQ sends ahead (`n`); 0: the same as --concurrency")
	s.Duration(&c.ShutdownTimeout, "shutdown-timeout", "QUIRE_SHUTDOWN_TIMEOUT", service.DefaultShutdownTimeout, "how long a stop waits for envelopes in hand, then for HTTP requests (`duration`)")
}

// listenerFlags defines quire serve's HTTP listeners.
func listenerFlags(s *envflag.Set, c *service.Config) {
	s.String(&c.Listen, "listen", "QUIRE_LISTEN", service.DefaultListen, "HTTP `address` of every audience without an address of its own (public, supplier, admin)")
	s.String(&c.Public.Addr, "public-listen", "QUIRE_PUBLIC_LISTEN", "", "`address` of the public listener (/preview and the preview API); empty: --listen; off: not served")
	s.String(&c.Public.CertFile, "public-tls-cert", "QUIRE_PUBLIC_TLS_CERT", "", "PEM `file` of the public listener's TLS certificate and chain, read again when it changes; needs --public-listen")
	s.String(&c.Public.KeyFile, "public-tls-key", "QUIRE_PUBLIC_TLS_KEY", "", "PEM `file` of the public listener's TLS key")
	s.String(&c.Supplier.Addr, "supplier-listen", "QUIRE_SUPPLIER_LISTEN", "", "`address` of the supplier listener (the pull API); empty: --listen; off: not served")
	s.String(&c.Supplier.CertFile, "supplier-tls-cert", "QUIRE_SUPPLIER_TLS_CERT", "", "PEM `file` of the supplier listener's TLS certificate and chain, read again when it changes; needs --supplier-listen")
	s.String(&c.Supplier.KeyFile, "supplier-tls-key", "QUIRE_SUPPLIER_TLS_KEY", "", "PEM `file` of the supplier listener's TLS key")
	s.String(&c.Admin.Addr, "admin-listen", "QUIRE_ADMIN_LISTEN", "", "`address` of the admin listener (/metrics, /healthz, /readyz, the embedded intake): keep it private; empty: --listen; off: not served")
	s.String(&c.StatusTokensFile, "status-tokens-file", "QUIRE_STATUS_TOKENS_FILE", "", "`file` of the status API's token hashes, name:sha256 a line (make them with quire envelopes token); set: the admin listener serves /internal/v1/envelopes")
	s.String(&c.IntakeTokenSHA256, "intake-token-sha256", "QUIRE_INTAKE_TOKEN_SHA256", "", "SHA-256 `hash` of a token the embedded intake then requires from any client (make one with quire batches token); empty: loopback clients only")
}

type logSettings struct{ format, level string }

func logFlags(s *envflag.Set) *logSettings {
	l := &logSettings{}
	s.String(&l.format, "log-format", "QUIRE_LOG_FORMAT", "text", "log `format`: text or json")
	s.String(&l.level, "log-level", "QUIRE_LOG_LEVEL", "info", "log `level`: debug, info, warn or error")
	return l
}

func (l *logSettings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", l.format)
}

func indent(err error) string {
	return "  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
}
