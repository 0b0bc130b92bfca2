package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/preview"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

// runServe implements "quire serve": render workers and the HTTP endpoints,
// until SIGINT or SIGTERM, then a drain.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := newEnvFlags("serve", stderr)
	fs := env.fs
	cfg := serviceFlags(env)
	logs := logFlags(env)
	batching := batchFlags(env)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: quire serve [flags]

Consumes envelope requests and cancellations, renders and stores envelopes,
and publishes status events. With no --amqp-url and no --s3-endpoint it runs
the embedded defaults: an in-process queue (not durable) and a filesystem
store under --data-dir, with a loopback intake endpoint for "quire submit".
Every flag can also be set by the environment variable shown; a flag given
on the command line wins.

Flags:
`)
		fs.PrintDefaults()
	}
	if !env.parse(args) {
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire serve: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	logger, err := logs.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 2
	}
	cfg.Logger = logger
	r, err := newRenderer()
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 1
	}
	s, err := service.New(*cfg, r)
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 1
	}
	if err := mountPreview(s, r.r, logger); err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 1
	}
	// The batcher, the retention sweep, and the pull API: /supplier/v1/...
	// Batching meets some refusals only once storage answers (S3 lifecycle
	// rules refused); it stops the service with runCtx, as a refusal at
	// start would, and the cause is the refusal.
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	stopBatching, err := startBatching(runCtx, s, *cfg, batching, r.r, logger, fail)
	if err != nil {
		fmt.Fprintf(stderr, "quire serve: %v\n", err)
		return 1
	}
	defer stopBatching()
	if s.Embedded() {
		fmt.Fprintf(stdout, "quire serve: embedded queue (not durable) and files under %s; intake at http://%s%s\n",
			s.DataDir(), s.Addr(), service.IntakePath)
	}
	err = s.Run(runCtx)
	if err == nil && ctx.Err() == nil {
		err = context.Cause(runCtx) // not a signal: batching stopped the service
	}
	if err != nil {
		logger.Error("quire serve: stopped with an error", "err", err)
		return 1
	}
	return 0
}

// mountPreview serves the preview API and page (/api/v1/..., /preview) on
// s's mux, and its metrics on s's /metrics.
func mountPreview(s *service.Service, r *renderer.Renderer, logger *slog.Logger) error {
	h := preview.Mount(s.Mux(), r, logger)
	if err := s.Registry().Register(h.Collector()); err != nil {
		return fmt.Errorf("preview metrics: %w", err)
	}
	return nil
}

// serviceFlags binds quire serve's settings to flags with environment
// defaults.
func serviceFlags(e *envFlags) *service.Config {
	c := &service.Config{}
	e.str(&c.AMQPURL, "amqp-url", "QUIRE_AMQP_URL", "", "RabbitMQ `URL` (amqp://user:pass@host:5672/vhost); empty: the embedded in-process queue")
	e.str(&c.Prefix, "amqp-prefix", "QUIRE_AMQP_PREFIX", service.DefaultPrefix, "`prefix` of every RabbitMQ exchange and queue name")
	e.str(&c.S3.Endpoint, "s3-endpoint", "QUIRE_S3_ENDPOINT", "", "S3 `host[:port]`, without a scheme; empty: files under --data-dir")
	e.str(&c.S3.Bucket, "s3-bucket", "QUIRE_S3_BUCKET", "", "S3 `bucket`; required with --s3-endpoint")
	e.str(&c.S3.Region, "s3-region", "QUIRE_S3_REGION", "", "S3 `region`, e.g. eu-west-2; empty: ask the service")
	e.secret(&c.S3.AccessKey, "s3-access-key", "QUIRE_S3_ACCESS_KEY", "S3 access `key`; prefer the environment variable")
	e.secret(&c.S3.SecretKey, "s3-secret-key", "QUIRE_S3_SECRET_KEY", "S3 secret `key`; prefer the environment variable")
	e.str(&c.S3.Prefix, "s3-prefix", "QUIRE_S3_PREFIX", "", "`prefix` for every object key, ending in /, to share a bucket")
	e.boolean(&c.S3.DisableTLS, "s3-disable-tls", "QUIRE_S3_DISABLE_TLS", false, "talk plain HTTP to S3 (loopback tests only: objects hold personal data)")
	e.boolean(&c.S3.PathStyle, "s3-path-style", "QUIRE_S3_PATH_STYLE", false, "path-style bucket addressing (Ceph RGW, MinIO without wildcard DNS)")
	e.str(&c.S3.Encryption, "s3-sse", "QUIRE_S3_SSE", s3store.EncryptionNone, "server-side `encryption`: none, SSE-S3 or SSE-KMS")
	e.str(&c.S3.KMSKeyID, "s3-kms-key-id", "QUIRE_S3_KMS_KEY_ID", "", "KMS `key id` for --s3-sse SSE-KMS")
	e.boolean(&c.S3.CreateBucket, "s3-create-bucket", "QUIRE_S3_CREATE_BUCKET", false, "create the bucket at start if it does not exist")
	e.str(&c.DataDir, "data-dir", "QUIRE_DATA_DIR", service.DefaultDataDir, "`directory` of the filesystem store, without --s3-endpoint")
	e.integer(&c.Concurrency, "concurrency", "QUIRE_CONCURRENCY", service.DefaultConcurrency, "envelopes handled at once (`n`)")
	e.integer(&c.Prefetch, "prefetch", "QUIRE_PREFETCH", 0, "unacked messages RabbitMQ sends ahead (`n`); 0: the same as --concurrency")
	e.str(&c.Listen, "listen", "QUIRE_LISTEN", service.DefaultListen, "HTTP `address` for /metrics, /healthz, /readyz (and the embedded intake)")
	e.duration(&c.ShutdownTimeout, "shutdown-timeout", "QUIRE_SHUTDOWN_TIMEOUT", service.DefaultShutdownTimeout, "how long a stop waits for envelopes in hand, then for HTTP requests (`duration`)")
	return c
}

type logSettings struct{ format, level string }

func logFlags(e *envFlags) *logSettings {
	l := &logSettings{}
	e.str(&l.format, "log-format", "QUIRE_LOG_FORMAT", "text", "log `format`: text or json")
	e.str(&l.level, "log-level", "QUIRE_LOG_LEVEL", "info", "log `level`: debug, info, warn or error")
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

// envFlags defines flags whose defaults come from environment variables,
// collecting unreadable variables as errors.
type envFlags struct {
	fs      *flag.FlagSet
	errs    []error
	secrets []func()
}

// newEnvFlags returns an empty flag set for "quire name", which writes
// its usage and errors to stderr.
func newEnvFlags(name string, stderr io.Writer) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &envFlags{fs: fs}
}

// parse parses args, then fills in the secrets not given from the
// environment. It returns false, having written why to the flag set's
// output, if a flag or an environment variable is wrong: the command
// exits 2.
func (e *envFlags) parse(args []string) bool {
	if err := e.fs.Parse(args); err != nil {
		return false // the flag set has written why
	}
	e.applySecrets()
	if err := errors.Join(e.errs...); err != nil {
		fmt.Fprintf(e.fs.Output(), "quire %s: %v\n", e.fs.Name(), err)
		return false
	}
	return true
}

// secret is a string flag whose environment value is never shown as the
// flag's default in --help: it is read after parsing, when the flag is
// not given.
func (e *envFlags) secret(p *string, name, env, usage string) {
	e.fs.StringVar(p, name, "", e.usage(env, usage))
	e.secrets = append(e.secrets, func() {
		if *p == "" {
			*p = os.Getenv(env)
		}
	})
}

// applySecrets fills in secrets from the environment; parse calls it.
func (e *envFlags) applySecrets() {
	for _, f := range e.secrets {
		f()
	}
}

func (e *envFlags) usage(env, usage string) string {
	return fmt.Sprintf("%s (env %s)", usage, env)
}

func (e *envFlags) str(p *string, name, env, def, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	e.fs.StringVar(p, name, def, e.usage(env, usage))
}

func (e *envFlags) integer(p *int, name, env string, def int, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s must be a whole number, not %q", env, v))
		} else {
			def = n
		}
	}
	e.fs.IntVar(p, name, def, e.usage(env, usage))
}

func (e *envFlags) boolean(p *bool, name, env string, def bool, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s must be true or false, not %q", env, v))
		} else {
			def = b
		}
	}
	e.fs.BoolVar(p, name, def, e.usage(env, usage))
}

func (e *envFlags) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	if v, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s must be a duration like 30s or 2m, not %q", env, v))
		} else {
			def = d
		}
	}
	e.fs.DurationVar(p, name, def, e.usage(env, usage))
}

func indent(err error) string {
	return "  " + strings.ReplaceAll(err.Error(), "\n", "\n  ")
}

// rendererAdapter gives the worker the real renderer.
type rendererAdapter struct{ r *renderer.Renderer }

func newRenderer() (rendererAdapter, error) {
	r, err := renderer.New()
	if err != nil {
		return rendererAdapter{}, fmt.Errorf("starting the renderer: %w", err)
	}
	return rendererAdapter{r}, nil
}

// Render implements worker.Renderer.
func (a rendererAdapter) Render(env *request.Envelope) ([]envelopes.RenderedDocument, error) {
	out, err := a.r.RenderEnvelope(env)
	if err != nil {
		return nil, err
	}
	docs := make([]envelopes.RenderedDocument, len(out.Documents))
	for i, d := range out.Documents {
		docs[i] = envelopes.RenderedDocument{
			Kind: d.Kind, Name: d.Name, TemplateID: d.TemplateID, TemplateVersion: d.TemplateVersion,
			Pages: d.Pages, Sheets: d.Sheets, PDF: d.PDF,
		}
	}
	return docs, nil
}
