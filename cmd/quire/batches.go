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
	"text/tabwriter"
	"time"
	_ "time/tzdata" // cut-offs are in Europe/London even on a machine without zone files

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// batchSettings are the settings of batching and the supplier hand-off,
// shared by quire serve and quire batches.
type batchSettings struct {
	supplier, adapter, folder, tokens string
	instance                          string
	cutOff, zone, holidays, weekdays  string
	maxEnvelopes, retentionDays       int
	maxReprints                       int
	lifecycle                         bool
}

// batchFlags binds the batching settings to flags with environment
// defaults.
func batchFlags(e *envflag.Set) *batchSettings {
	b := &batchSettings{}
	e.String(&b.supplier, "supplier", "QUIRE_SUPPLIER", "", "print supplier `name` batches are made for; empty: no batching")
	e.String(&b.adapter, "supplier-adapter", "QUIRE_SUPPLIER_ADAPTER", adapters.DefaultAdapter, "how batches reach the supplier: pull or folder (`kind`)")
	e.String(&b.folder, "supplier-folder", "QUIRE_SUPPLIER_FOLDER", "", "`directory` batches are written to, with --supplier-adapter folder")
	e.String(&b.tokens, "supplier-tokens", "QUIRE_SUPPLIER_TOKENS", "", "pull API tokens as `name:sha256[,sha256][;name:sha256…]` (hashes from quire batches token)")
	scheduleFlags(e, b)
	e.Int(&b.maxEnvelopes, "batch-max", "QUIRE_BATCH_MAX", batch.DefaultMaxEnvelopes, "most envelopes in one batch (`n`); more make several batches")
	e.Int(&b.retentionDays, "retention-days", "QUIRE_RETENTION_DAYS", retention.DefaultDays, "`days` personal data is kept after posting or a cancellation that stands (and print files after hand-over)")
	e.Bool(&b.lifecycle, "retention-lifecycle", "QUIRE_RETENTION_LIFECYCLE", false, "also install S3 lifecycle rules so the store deletes personal data itself (S3 only)")
	e.String(&b.instance, "instance", "QUIRE_INSTANCE", "", "`name` of this process's batcher, the same after a restart and unique among those running, so a restarted one resumes its cut-off at once; empty: the host name")
	return b
}

// scheduleFlags binds the cut-off schedule and the reprint limit, which
// quire envelopes needs too, to flags with environment defaults.
func scheduleFlags(e *envflag.Set, b *batchSettings) {
	e.String(&b.cutOff, "cutoff", "QUIRE_CUTOFF", schedule.DefaultAt, "cut-off `time` of day, HH:MM, on working days")
	e.String(&b.weekdays, "cutoff-days", "QUIRE_CUTOFF_DAYS", "mon,tue,wed,thu,fri", "`days` of the week with a cut-off, comma-separated")
	e.String(&b.zone, "cutoff-zone", "QUIRE_CUTOFF_ZONE", schedule.DefaultLocation, "time `zone` of the cut-off")
	e.String(&b.holidays, "bank-holidays", "QUIRE_BANK_HOLIDAYS", "", "`file` of dates without a cut-off, YYYY-MM-DD a line; empty: England and Wales 2026-2027")
	e.Int(&b.maxReprints, "max-reprints", "QUIRE_MAX_REPRINTS", reprint.DefaultMaxAutomatic, "most reprints of one envelope made on the supplier's spoiled reports (`n`); then it waits for an operator; 0: none")
}

// config reads the batching settings. The result is checked by
// service.Config.Validate and service.NewBatching.
func (b *batchSettings) config() (service.BatchConfig, error) {
	if b.supplier == "" {
		// No batching here, but the worker still schedules the deletion
		// of cancelled envelopes.
		return service.BatchConfig{RetentionDays: b.retentionDays}, nil
	}
	sched, err1 := b.schedule()
	creds, err2 := b.credentials()
	if err := errors.Join(err1, err2); err != nil {
		return service.BatchConfig{}, err
	}
	if b.maxReprints < 0 {
		return service.BatchConfig{}, fmt.Errorf("--max-reprints cannot be negative (got %d)", b.maxReprints)
	}
	maxReprints := b.maxReprints
	if maxReprints == 0 {
		maxReprints = -1 // BatchConfig's 0 is the default
	}
	return service.BatchConfig{Supplier: b.supplier, Adapter: b.adapter, Folder: b.folder, Tokens: creds, Schedule: sched,
		MaxEnvelopes: b.maxEnvelopes, RetentionDays: b.retentionDays, Lifecycle: b.lifecycle, Instance: b.instance, MaxReprints: maxReprints}, nil
}

// schedule reads the cut-off settings.
func (b *batchSettings) schedule() (schedule.Config, error) {
	c := schedule.Config{Location: b.zone, At: b.cutOff, Weekdays: []time.Weekday{}}
	names := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
		"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	for d := range strings.SplitSeq(b.weekdays, ",") {
		wd, ok := names[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return c, fmt.Errorf("--cutoff-days: %q is not one of mon, tue, wed, thu, fri, sat, sun", d)
		}
		c.Weekdays = append(c.Weekdays, wd)
	}
	if b.holidays != "" {
		dates, err := readHolidays(b.holidays)
		if err != nil {
			return c, err
		}
		c.Holidays = dates
	}
	// Checked here too, so that a wrong time or zone is reported with
	// the other configuration problems.
	if _, err := schedule.New(c); err != nil {
		return c, err
	}
	return c, nil
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
	tlsCfg, err := service.AMQPTLS(cfg.AMQPCAFile)
	if err != nil {
		return nil, nil, err
	}
	b, err := broker.New(broker.Config{URL: cfg.AMQPURL, Prefix: cfg.Prefix, RetryDelays: cfg.RetryDelays,
		ConnectionName: "quire batches", Logger: log, TLS: tlsCfg})
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

// batchesFlags defines quire batches' flags on a new set writing to w:
// quire serve's queue, store and batching settings, and --last.
func batchesFlags(w io.Writer) (env *envflag.Set, cfg *service.Config, bs *batchSettings, last *int) {
	env = envflag.New("batches", w)
	cfg = storeQueueFlags(env)
	bs = batchFlags(env)
	last = new(int)
	env.Int(last, "last", "", 30, "list: show the last `n` batches")
	return env, cfg, bs, last
}

// runBatches implements "quire batches": operators' view of batches.
func runBatches(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env, cfg, bs, last := batchesFlags(stderr)
	fs := env.FlagSet()
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
	if code, ok := parseFlags(env, args); !ok {
		return code
	}
	if len(env.Args()) == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := env.Args()[0], env.Args()[1:]
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
	bst := ledger.NewStore(st)
	switch cmd {
	case "list":
		err = listBatches(ctx, bst, *last, stdout)
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
func state(ctx context.Context, st *ledger.Store, s *ledger.Sealed) (string, error) {
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

func listBatches(ctx context.Context, st *ledger.Store, last int, w io.Writer) error {
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

func showBatch(ctx context.Context, st *ledger.Store, id string, w io.Writer) error {
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
	for _, m := range s.Envelopes {
		if m.Run > 0 {
			fmt.Fprintf(w, "reprint    envelope %d (%s) is its reprint %d\n", m.Sequence, m.EnvelopeID, m.Run)
		}
	}
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
	for info, err := range st.Storage().List(ctx, ledger.BatchesPrefix+id+"/outcomes/") {
		if err != nil {
			return err
		}
		counts[strings.TrimSuffix(info.Key[strings.LastIndexByte(info.Key, '/')+1:], ".json")]++
	}
	fmt.Fprintln(w, "\noutcomes reported:")
	for _, o := range []string{ledger.OutcomePrinted, ledger.OutcomePosted, ledger.OutcomeReturned, ledger.OutcomeSpoiled} {
		fmt.Fprintf(w, "  %-9s %d of %d\n", o, counts[o], len(s.Envelopes))
	}
	return nil
}

func resendBatch(ctx context.Context, cfg service.Config, bs *batchSettings, id string, w io.Writer) error {
	if bs.supplier == "" {
		return errors.New("--supplier (or QUIRE_SUPPLIER) is required to know how to reach the supplier")
	}
	var err error
	if cfg.Batching, err = bs.config(); err != nil {
		return err
	}
	r, err := service.NewRenderer()
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
	bt, err := service.NewBatching(cfg, st, events, r, log)
	if err != nil {
		return err
	}
	if err := bt.Resend(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(w, "batch %s handed to %s again (%s)\n", id, bs.supplier, bs.adapter)
	return nil
}
