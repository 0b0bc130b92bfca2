package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // cut-offs are in Europe/London even on a machine without zone files

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quire-print/quire/internal/backoff"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/supplier"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/folder"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/pipeline/worker"
	"github.com/quire-print/quire/renderer"
)

// batchSettings are the settings of batching and the supplier hand-off,
// shared by quire serve and quire batches.
type batchSettings struct {
	supplier, adapter, folder, tokens string
	cutOff, zone, holidays, weekdays  string
	maxEnvelopes, retentionDays       int
	lifecycle                         bool
}

// batchFlags binds the batching settings to flags with environment
// defaults.
func batchFlags(e *envFlags) *batchSettings {
	b := &batchSettings{}
	e.str(&b.supplier, "supplier", "QUIRE_SUPPLIER", "", "print supplier `name` batches are made for; empty: no batching")
	e.str(&b.adapter, "supplier-adapter", "QUIRE_SUPPLIER_ADAPTER", adapters.DefaultAdapter, "how batches reach the supplier: pull or folder (`kind`)")
	e.str(&b.folder, "supplier-folder", "QUIRE_SUPPLIER_FOLDER", "", "`directory` batches are written to, with --supplier-adapter folder")
	e.str(&b.tokens, "supplier-tokens", "QUIRE_SUPPLIER_TOKENS", "", "pull API tokens as `name:sha256[,sha256][;name:sha256…]` (hashes from quire batches token)")
	e.str(&b.cutOff, "cutoff", "QUIRE_CUTOFF", schedule.DefaultAt, "cut-off `time` of day, HH:MM, on working days")
	e.str(&b.weekdays, "cutoff-days", "QUIRE_CUTOFF_DAYS", "mon,tue,wed,thu,fri", "`days` of the week with a cut-off, comma-separated")
	e.str(&b.zone, "cutoff-zone", "QUIRE_CUTOFF_ZONE", schedule.DefaultLocation, "time `zone` of the cut-off")
	e.str(&b.holidays, "bank-holidays", "QUIRE_BANK_HOLIDAYS", "", "`file` of dates without a cut-off, YYYY-MM-DD a line; empty: England and Wales 2026-2027")
	e.integer(&b.maxEnvelopes, "batch-max", "QUIRE_BATCH_MAX", batch.DefaultMaxEnvelopes, "most envelopes in one batch (`n`); more make several batches")
	e.integer(&b.retentionDays, "retention-days", "QUIRE_RETENTION_DAYS", retention.DefaultDays, "`days` personal data is kept after posting (and print files after hand-over)")
	e.boolean(&b.lifecycle, "retention-lifecycle", "QUIRE_RETENTION_LIFECYCLE", false, "also install S3 lifecycle rules so the store deletes personal data itself (S3 only)")
	return b
}

// schedule reads the cut-off settings.
func (b *batchSettings) schedule() (*schedule.Schedule, error) {
	c := schedule.Config{Location: b.zone, At: b.cutOff, Weekdays: []time.Weekday{}}
	names := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	for d := range strings.SplitSeq(b.weekdays, ",") {
		wd, ok := names[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return nil, fmt.Errorf("--cutoff-days: %q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
		c.Weekdays = append(c.Weekdays, wd)
	}
	if b.holidays != "" {
		dates, err := readHolidays(b.holidays)
		if err != nil {
			return nil, err
		}
		c.Holidays = dates
	}
	return schedule.New(c)
}

// readHolidays reads a file of dates, one a line; blank lines and lines
// starting with # are skipped.
func readHolidays(path string) ([]schedule.Date, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--bank-holidays: %w", err)
	}
	defer f.Close()
	dates := []schedule.Date{}
	sc := bufio.NewScanner(f)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d, err := schedule.ParseDate(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			continue
		}
		dates = append(dates, d)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return dates, errors.Join(errs...)
}

// credentials reads --supplier-tokens.
func (b *batchSettings) credentials() ([]pull.Credentials, error) {
	var creds []pull.Credentials
	for part := range strings.SplitSeq(b.tokens, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, hashes, ok := strings.Cut(part, ":")
		if !ok {
			return nil, errors.New("--supplier-tokens must look like name:sha256[,sha256][;name:sha256…]")
		}
		creds = append(creds, pull.Credentials{Supplier: strings.TrimSpace(name), TokenSHA256: strings.Split(strings.ReplaceAll(hashes, " ", ""), ",")})
	}
	return creds, nil
}

// openStore opens the store quire serve uses, for quire batches: a client
// of its own on the same bucket or directory.
func openStore(ctx context.Context, cfg service.Config) (storage.Store, error) {
	if cfg.S3.Endpoint != "" {
		return s3store.New(ctx, cfg.S3)
	}
	dir := cfg.DataDir
	if dir == "" {
		dir = service.DefaultDataDir
	}
	return fsstore.New(dir)
}

// eventsPublisher returns the events publisher for quire batches:
// RabbitMQ's events exchange, or with the embedded queue the service's
// OnEvent (there is no upstream to tell). close releases it.
func eventsPublisher(cfg service.Config, log *slog.Logger) (p pipeline.Publisher, close func(), err error) {
	if cfg.Embedded() {
		return localEvents{cfg.OnEvent, log}, func() {}, nil
	}
	b, err := broker.New(broker.Config{URL: cfg.AMQPURL, Prefix: cfg.Prefix, RetryDelays: cfg.RetryDelays,
		ConnectionName: "quire batches", Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return b.Events(), func() { _ = b.Close() }, nil
}

// localEvents takes status events in embedded mode.
type localEvents struct {
	onEvent func(kind string, body []byte)
	log     *slog.Logger
}

func (l localEvents) Publish(ctx context.Context, kind string, body []byte) error {
	if l.onEvent != nil {
		l.onEvent(kind, body)
	}
	l.log.Debug("quire: status event (embedded mode: not published)", "type", kind)
	return nil
}

// batching is batching assembled from settings.
type batching struct {
	store     storage.Store
	batcher   *batch.Batcher
	keeper    *retention.Keeper
	sender    *supplier.Sender
	api       *pull.API            // nil unless the adapter is pull
	lifecycle *retention.Lifecycle // nil unless --retention-lifecycle; the caller installs its rules
}

// assemble builds batching from its settings on store st, publishing
// status events on events, with r as the renderer for print files. It
// sends nothing to the store: the S3 lifecycle rules, if any, are for the
// caller to install.
func (b *batchSettings) assemble(cfg service.Config, st storage.Store, events pipeline.Publisher,
	r *renderer.Renderer, log *slog.Logger) (*batching, error) {
	var errs []error
	sched, err := b.schedule()
	if err != nil {
		errs = append(errs, err)
	}
	creds, err := b.credentials()
	if err != nil {
		errs = append(errs, err)
	}
	if b.adapter == pull.Kind && len(creds) == 0 {
		errs = append(errs, errors.New("the pull adapter needs --supplier-tokens (make one with quire batches token)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := &batching{store: st}
	var lc retention.Tagger
	if b.lifecycle {
		if cfg.S3.Endpoint == "" {
			return nil, errors.New("--retention-lifecycle needs an S3 store")
		}
		if out.lifecycle, err = retention.NewLifecycleUnchecked(retention.LifecycleConfig{S3: cfg.S3, Days: b.retentionDays}); err != nil {
			return nil, err
		}
		lc = out.lifecycle
	}
	if out.keeper, err = retention.New(retention.Config{Store: st, Days: b.retentionDays, Lifecycle: lc, Logger: log}); err != nil {
		return nil, err
	}
	ac := adapters.Config{Supplier: b.supplier, Adapter: b.adapter}
	if b.folder != "" {
		ac.Folder = folder.Config{Dir: b.folder}
	}
	if out.sender, err = adapters.Build(ac, st, nil, log); err != nil {
		return nil, err
	}
	asm, err := printfile.New(printfile.Config{Renderer: r, Store: st})
	if err != nil {
		return nil, err
	}
	out.batcher, err = batch.New(batch.Config{Store: st, Schedule: sched, Assembler: batch.PrintFiles(asm), Supplier: out.sender,
		Events: events, Retention: out.keeper, Logger: log, MaxEnvelopes: b.maxEnvelopes})
	if err == nil && b.adapter == pull.Kind {
		out.api, err = pull.New(pull.Config{Store: st, Suppliers: creds, Events: events, Retention: out.keeper, Logger: log})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// startBatching mounts the pull API on quire serve's mux under
// /supplier/, registers batching's metrics (the batcher's, the sweep's and
// the pull API's) on its /metrics, and starts the batcher and the
// retention sweep, and installs
// the S3 lifecycle rules with --retention-lifecycle, once the service's
// storage answers (Service.StorageReady): before that every cut-off and
// sweep would only fail and log an error, and quire serve may start before
// its storage. They share the service's store and events publisher, so no
// second client or connection is opened. (The service's worker checks
// cancellations against the batch records whether or not batching runs
// here.) With no --supplier it does nothing.
//
// A refusal that waiting would not change, met only once storage answers
// (the lifecycle rules refused), is passed to fail, which is to stop
// quire serve with it. stop ends batching and waits.
func startBatching(ctx context.Context, s *service.Service, cfg service.Config, b *batchSettings, r *renderer.Renderer,
	log *slog.Logger, fail func(error)) (stop func(), err error) {
	if b.supplier == "" {
		log.Info("quire serve: batching is off (no --supplier)")
		return func() {}, nil
	}
	bt, err := b.assemble(cfg, s.Store(), s.Events(), r, log)
	if err != nil {
		return nil, fmt.Errorf("batching: %w", err)
	}
	collectors := []prometheus.Collector{bt.batcher.Collector(), bt.keeper.Collector()}
	if bt.api != nil {
		collectors = append(collectors, bt.api.Collector())
	}
	for _, c := range collectors {
		if err := s.Registry().Register(c); err != nil {
			return nil, fmt.Errorf("batching metrics: %w", err)
		}
	}
	if bt.api != nil {
		s.Mux().Handle("/supplier/", bt.api)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-s.StorageReady():
		case <-ctx.Done():
			return
		}
		if bt.lifecycle != nil {
			wg.Go(func() {
				if err := installLifecycle(ctx, bt.lifecycle, log); err != nil {
					fail(fmt.Errorf("batching: %w", err))
				}
			})
		}
		wg.Go(func() { _ = bt.batcher.Run(ctx) })
		wg.Go(func() { _ = bt.keeper.Run(ctx) })
	})
	log.Info("quire serve: batching, once storage answers", "supplier", b.supplier, "adapter", b.adapter, "cut_off", b.cutOff, "zone", b.zone)
	return func() {
		cancel()
		wg.Wait()
	}, nil
}

// lifecycleInstaller installs S3 lifecycle rules; *retention.Lifecycle is
// one.
type lifecycleInstaller interface {
	Install(ctx context.Context) error
}

// installLifecycle installs l's rules, trying again with the storage
// gate's backoff while S3 does not answer or cannot serve now. It returns
// nil once they are in or ctx ends, and the error of a refusal that
// waiting would not change: permission refused, or a store without
// lifecycle support.
func installLifecycle(ctx context.Context, l lifecycleInstaller, log *slog.Logger) error {
	err := backoff.Retry(ctx, worker.DefaultGateBackoffMin, worker.DefaultGateBackoffMax, l.Install, s3store.Retryable,
		func(err error, d time.Duration) {
			log.Warn("quire serve: S3 lifecycle rules not installed yet; trying again", "err", err, "retry_in", d)
		})
	switch {
	case err == nil:
		log.Info("quire serve: S3 lifecycle rules installed")
		return nil
	case ctx.Err() != nil:
		return nil
	}
	return err
}

// runBatches implements "quire batches": operators' view of batches.
func runBatches(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := newEnvFlags("batches", stderr)
	fs := env.fs
	cfg := serviceFlags(env)
	bs := batchFlags(env)
	var last int
	fs.IntVar(&last, "last", 30, "list: show the last `n` batches")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: quire batches [flags] list
       quire batches [flags] show <batch-id>
       quire batches [flags] resend <batch-id>
       quire batches token

list     the latest batches: envelopes, supplier, and how far each has got
show     one batch: its files and checksums, envelopes left out and why,
         hand-over, receipt and the outcomes reported
resend   hand a sealed batch to its supplier again (it lost the files, or a
         hand-off failed for good and the cause is fixed); the batch is the
         same, and the supplier must not print it twice
token    make a supplier token for the pull API: give the token to the
         supplier, put the hash in --supplier-tokens

The store and supplier are configured as for quire serve, by the same flags
and environment variables.

Flags:
`)
		fs.PrintDefaults()
	}
	if !env.parse(args) {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "token" {
		token, hash := pull.NewToken()
		fmt.Fprintf(stdout, "token (give to the supplier, once): %s\nsha256 (for --supplier-tokens):    %s\n", token, hash)
		return 0
	}
	want := map[string]int{"list": 0, "show": 1, "resend": 1}
	if n, ok := want[cmd]; !ok || len(rest) != n {
		fs.Usage()
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire batches: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	st, err := openStore(ctx, *cfg)
	if err != nil {
		fmt.Fprintf(stderr, "quire batches: %v\n", err)
		return 1
	}
	bst := batch.NewStore(st)
	switch cmd {
	case "list":
		err = listBatches(ctx, bst, last, stdout)
	case "show":
		err = showBatch(ctx, bst, rest[0], stdout)
	case "resend":
		err = resendBatch(ctx, *cfg, bs, rest[0], stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "quire batches %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// london shows times on the clocks the cut-offs are set by.
func london(t time.Time) string {
	loc, err := time.LoadLocation(schedule.DefaultLocation)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// state says how far a batch has got.
func state(ctx context.Context, st *batch.Store, s *batch.Sealed) (string, error) {
	if len(s.Envelopes) == 0 {
		return "empty (every envelope left out)", nil
	}
	if rc, err := st.Receipt(ctx, s.BatchID); err == nil {
		return "acknowledged " + london(rc.At), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	if h, err := st.Handover(ctx, s.BatchID); err == nil {
		return "handed over " + london(h.At), nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	if f, err := st.HandOffFailure(ctx, s.BatchID); err == nil {
		return "HAND-OFF FAILED " + london(f.At) + " (quire batches resend)", nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	return "sealed, waiting for hand-over", nil
}

func listBatches(ctx context.Context, st *batch.Store, last int, w io.Writer) error {
	var ids []string
	for id, err := range st.Batches(ctx) {
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	ids = ids[max(0, len(ids)-last):]
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tCUT-OFF\tSUPPLIER\tENVELOPES\tLEFT OUT\tSHEETS\tSTATE")
	for _, id := range ids {
		s, err := st.Sealed(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			fmt.Fprintf(tw, "%s\t\t\t\t\t\tbeing built\n", id)
			continue
		} else if err != nil {
			return err
		}
		where, err := state(ctx, st, s)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", id, london(s.CutOff), s.Supplier, len(s.Envelopes), len(s.Left), s.Sheets, where)
	}
	return tw.Flush()
}

func showBatch(ctx context.Context, st *batch.Store, id string, w io.Writer) error {
	s, err := st.Sealed(ctx, id)
	if err != nil {
		return err
	}
	where, err := state(ctx, st, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "batch      %s\ncut-off    %s\nsupplier   %s\nsealed     %s\nstate      %s\nenvelopes  %d (%d pages, %d sheets)\n",
		s.BatchID, london(s.CutOff), s.Supplier, london(s.SealedAt), where, len(s.Envelopes), s.Pages, s.Sheets)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nFILE\tBYTES\tSHA-256")
	for _, f := range s.Files {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", f.Name, f.Size, f.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Left) > 0 {
		fmt.Fprintln(w, "\nleft out:")
		for _, l := range s.Left {
			fmt.Fprintf(w, "  %s  %s\n", l.EnvelopeID, l.Code)
		}
	}
	if f, err := st.HandOffFailure(ctx, id); err == nil {
		fmt.Fprintf(w, "\nlast hand-off failed at %s: %s\n", london(f.At), f.Error)
	}
	counts := map[string]int{}
	for info, err := range st.Storage().List(ctx, batch.BatchesPrefix+id+"/outcomes/") {
		if err != nil {
			return err
		}
		counts[strings.TrimSuffix(info.Key[strings.LastIndexByte(info.Key, '/')+1:], ".json")]++
	}
	fmt.Fprintln(w, "\noutcomes reported:")
	for _, o := range []string{batch.OutcomePrinted, batch.OutcomePosted, batch.OutcomeReturned, batch.OutcomeSpoiled} {
		fmt.Fprintf(w, "  %-9s %d of %d\n", o, counts[o], len(s.Envelopes))
	}
	return nil
}

func resendBatch(ctx context.Context, cfg service.Config, bs *batchSettings, id string, w io.Writer) error {
	if bs.supplier == "" {
		return errors.New("--supplier (or QUIRE_SUPPLIER) is required to know how to reach the supplier")
	}
	r, err := renderer.New()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	events, closeEvents, err := eventsPublisher(cfg, log)
	if err != nil {
		return err
	}
	defer closeEvents()
	bt, err := bs.assemble(cfg, st, events, r, log)
	if err != nil {
		return err
	}
	if bt.lifecycle != nil {
		// S3 answers here or the command fails: nothing to wait for.
		if err := bt.lifecycle.Install(ctx); err != nil {
			return err
		}
	}
	if err := bt.batcher.Resend(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(w, "batch %s handed to %s again (%s)\n", id, bs.supplier, bs.adapter)
	return nil
}
