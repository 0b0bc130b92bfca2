package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

// runDemo implements "quire demo": Quire's main job on its embedded
// defaults, in one command. It starts an embedded quire serve in this
// process, submits the sample requests (and one invalid one) through the
// intake endpoint as "quire submit" would, and prints how each envelope
// settled.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags, st := demoFlags(stderr)
	fs := flags.FlagSet()
	dataDir, samples, invalid, listen, timeout, keep, verbose := &st.dataDir, &st.samples, &st.invalid, &st.listen, &st.timeout, &st.keep, &st.verbose
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: quire demo [flags]

Runs Quire's whole flow on its embedded defaults (an in-process queue and
files under --data-dir): submits the sample requests and one invalid one,
and shows each envelope rendered, with its files, or rejected, with the
problems found. Run it from the repository root.

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(flags, args); !ok {
		return code
	}
	if len(flags.Args()) > 0 {
		fs.Usage()
		return 2
	}
	files, err := filepath.Glob(filepath.Join(*samples, "*.json"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no sample requests in %s: run quire demo from the repository root, or give --samples", *samples)
	}
	if err != nil {
		fmt.Fprintf(stderr, "quire demo: %v\n", err)
		return 1
	}
	sort.Strings(files)
	if *invalid != "" {
		files = append(files, *invalid)
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	w := newWatcher()
	r, err := service.NewRenderer()
	if err != nil {
		fmt.Fprintf(stderr, "quire demo: %v\n", err)
		return 1
	}
	svc, err := service.New(service.Config{DataDir: *dataDir, Listen: *listen, Logger: logger, OnEvent: w.on}, r)
	if err != nil {
		fmt.Fprintf(stderr, "quire demo: %v\n", err)
		return 1
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	fmt.Fprintf(stdout, "Quire is running on its embedded defaults: an in-process queue, files under %s,\nHTTP on http://%s (/preview, /metrics, /readyz).\n\n", svc.DataDir(), svc.Addr())

	client := service.IntakeClient{BaseURL: "http://" + svc.Addr()}
	type sub struct{ file, id string }
	var subs []sub
	status := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "quire demo: %v\n", err)
			status = 1
			continue
		}
		id := service.EnvelopeID(body)
		if id == "" {
			fmt.Fprintf(stderr, "quire demo: %s has no valid envelope id; skipped\n", f)
			continue
		}
		if err := client.Submit(ctx, pipeline.KindRender, id, body); err != nil {
			fmt.Fprintf(stderr, "quire demo: %s: %v\n", f, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "submitted %-40s envelope %s\n", f, id)
		subs = append(subs, sub{f, id})
	}
	fmt.Fprintln(stdout)

	deadline := time.NewTimer(*timeout)
	defer deadline.Stop()
	for _, s := range subs {
		e, ok := w.wait(s.id, ctx.Done(), deadline.C)
		if !ok {
			fmt.Fprintf(stdout, "%s: not settled yet (timed out or interrupted)\n", s.id)
			status = 1
			continue
		}
		if err := printOutcome(ctx, stdout, svc.Envelopes(), svc.DataDir(), s.file, e); err != nil {
			fmt.Fprintf(stderr, "quire demo: %s: %v\n", s.id, err)
			status = 1
		}
	}
	if status == 0 && *keep {
		fmt.Fprintf(stdout, "\nStill serving. Submit more with:\n  go run ./cmd/quire submit --server http://%s <request.json>\nStop with Ctrl-C.\n", svc.Addr())
		<-ctx.Done()
	}
	stop()
	if err := <-done; err != nil {
		fmt.Fprintf(stderr, "quire demo: %v\n", err)
		return 1
	}
	if status == 0 {
		fmt.Fprintf(stdout, "\nAll %d envelopes settled. Open the PDFs above; run again and the same envelopes are found already stored.\n", len(subs))
	}
	return status
}

type demoSettings struct {
	dataDir, samples, invalid, listen string
	timeout                           time.Duration
	keep, verbose                     bool
}

// demoFlags defines quire demo's flags on a new set writing to w.
func demoFlags(w io.Writer) (*envflag.Set, *demoSettings) {
	s := envflag.New("demo", w)
	st := &demoSettings{}
	s.String(&st.dataDir, "data-dir", "", service.DefaultDataDir, "`directory` to store rendered envelopes in")
	s.String(&st.samples, "samples", "", filepath.Join("testdata", "requests", "valid"), "`directory` of valid sample requests to submit")
	s.String(&st.invalid, "invalid", "", filepath.Join("testdata", "requests", "invalid", "bad-postcode.json"), "an invalid request `file` to submit, to show a rejection; empty: none")
	s.String(&st.listen, "listen", "", "127.0.0.1:0", "HTTP `address` for the embedded serve (port 0: any free port)")
	s.Duration(&st.timeout, "timeout", "", 2*time.Minute, "give up if envelopes have not settled after this `duration`")
	s.Bool(&st.keep, "keep-serving", "", false, "keep serving after the samples have settled, until interrupted (submit more with quire submit)")
	s.Bool(&st.verbose, "v", "", false, "show the service's logs")
	return s, st
}

// printOutcome prints what became of one envelope. A rendered envelope's
// documents are stored in one bundle object, so they are copied out of
// the store to dataDir/documents/<id>/, one PDF each, for a newcomer to
// open.
func printOutcome(ctx context.Context, w io.Writer, envs *envelopes.Store, dataDir, file string, e events.Event) error {
	switch e.Type {
	case events.TypeRendered:
		fmt.Fprintf(w, "%s: rendered (%s)\n", e.EnvelopeID, file)
		rec, err := envs.Record(ctx, e.EnvelopeID)
		if err != nil {
			return err
		}
		dir := filepath.Join(dataDir, "documents", e.EnvelopeID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		for i, d := range rec.Documents {
			data, err := envs.Read(ctx, d.File)
			if err != nil {
				return err
			}
			path := filepath.Join(dir, d.Name)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(w, "    %-18s %-26s %d page(s) %s\n", d.Name, e.Documents[i].Template, d.Pages, path)
		}
	case events.TypeRejected:
		fmt.Fprintf(w, "%s: rejected, %s (%s)\n", e.EnvelopeID, e.Reason.Code, file)
		for _, f := range e.Reason.Fields {
			fmt.Fprintf(w, "    %s\n", f.String())
		}
	case events.TypeCancelled:
		fmt.Fprintf(w, "%s: cancelled, %s (%s)\n", e.EnvelopeID, e.Reason.Code, file)
	}
	return nil
}

// watcher keeps the last settling event (rendered, rejected, cancelled) of
// each envelope.
type watcher struct {
	mu      sync.Mutex
	settled map[string]events.Event
	changed chan struct{}
}

func newWatcher() *watcher {
	return &watcher{settled: map[string]events.Event{}, changed: make(chan struct{})}
}

func (w *watcher) on(kind string, body []byte) {
	if kind == events.TypeAccepted {
		return
	}
	var e events.Event
	if json.Unmarshal(body, &e) != nil {
		return
	}
	id := e.EnvelopeID
	if id == "" {
		id = e.MessageID
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settled[id] = e
	close(w.changed)
	w.changed = make(chan struct{})
}

// wait returns id's settling event, or false if stop or timeout fires first.
func (w *watcher) wait(id string, stop <-chan struct{}, timeout <-chan time.Time) (events.Event, bool) {
	for {
		w.mu.Lock()
		e, ok := w.settled[id]
		changed := w.changed
		w.mu.Unlock()
		if ok {
			return e, true
		}
		select {
		case <-changed:
		case <-stop:
			return events.Event{}, false
		case <-timeout:
			return events.Event{}, false
		}
	}
}
