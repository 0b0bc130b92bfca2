// Command printbench measures printfile.Assemble on a large batch, as the
// batcher would run it: envelopes read one by one from a filesystem store
// (render record, then the stored request), print files written to another.
//
//	go run ./pipeline/batch/printfile/internal/printbench -dir /tmp/printbench -n 10000 prepare
//	go build -o /tmp/printbench.bin ./pipeline/batch/printfile/internal/printbench
//	/usr/bin/time -v /tmp/printbench.bin -dir /tmp/printbench -n 10000 assemble
//
// prepare renders and commits n envelopes (a letter and one certificate
// each, names and places varied) the way the pipeline worker does; it is
// slow (every write is fsynced) and needs doing once. assemble then runs in
// a fresh process, so its peak RSS (VmHWM, printed at the end) is the
// assembly's alone.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

func main() { os.Exit(run()) }

func run() int {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "printbench"), "working directory")
	n := flag.Int("n", 10000, "envelopes in the batch")
	perFile := flag.Int("per-file", printfile.DefaultEnvelopesPerFile, "envelopes per print file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of assemble to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: printbench [-dir DIR] [-n N] prepare|assemble")
		return 2
	}
	ctx := context.Background()
	var err error
	switch flag.Arg(0) {
	case "prepare":
		err = prepare(ctx, *dir, *n)
	case "assemble":
		err = assemble(ctx, *dir, *n, *perFile, *cpuProfile)
	default:
		err = fmt.Errorf("unknown command %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "printbench:", err)
		return 1
	}
	return 0
}

func envelopeID(i int) string { return fmt.Sprintf("bench-%06d", i) }

// prepare renders and commits n envelopes with two workers per core.
func prepare(ctx context.Context, dir string, n int) error {
	st, err := fsstore.New(filepath.Join(dir, "store"))
	if err != nil {
		return err
	}
	es := envelopes.New(st)
	r, err := renderer.New()
	if err != nil {
		return err
	}
	start := time.Now()
	ids := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range ids {
				if err := commit(ctx, r, es, sample(i)); err != nil {
					select {
					case errs <- fmt.Errorf("envelope %d: %w", i, err):
					default:
					}
				}
			}
		})
	}
	for i := 1; i <= n; i++ {
		ids <- i
	}
	close(ids)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Printf("prepared %d envelopes in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func commit(ctx context.Context, r *renderer.Renderer, es *envelopes.Store, env *request.Envelope) error {
	out, err := r.RenderEnvelope(env)
	if err != nil {
		return err
	}
	normalised, err := json.Marshal(env)
	if err != nil {
		return err
	}
	in := envelopes.Rendered{EnvelopeID: env.EnvelopeID, RequestHash: env.ContentHash(), Request: normalised,
		Documents: out.Documents, RenderedAt: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	_, _, err = es.Commit(ctx, in)
	return err
}

var (
	firstNames = []string{"Amelia", "Olivia", "Siobhán", "Zoë", "Aoife", "Priya", "Nkechi", "Łucja", "Mohammed", "Oliver",
		"Jürgen", "Björn", "François", "Chidi", "Dmitri", "Eleni", "Agnieszka", "Rhiannon", "Tomasz", "Ngozi", "Saoirse"}
	surnames = []string{"Smith", "Jones", "O'Brien", "Nowak", "Patel", "Okafor", "Müller", "Ó Súilleabháin", "Williams",
		"Kowalczyk", "Nguyen", "Ahmed", "Fernández", "Papadopoulos", "Ivanova", "Mac an tSaoir", "Taylor-Brown"}
	babyNames = []string{"", "Hope", "Asha", "Noah", "Little One", "Élodie", "Kai", "", "Rosie", "Bartholomew Alexander"}
	places    = []struct{ street, town, postcode string }{
		{"9 Mill Lane", "Canterbury", "CT1 2HX"}, {"Flat 3, 27 Park Road", "Leeds", "LS1 4AP"},
		{"118 Oxford Road", "Manchester", "M1 1AE"}, {"4 Church Street", "Birmingham", "B1 1BB"},
		{"55 Grey Street", "Newcastle upon Tyne", "NE1 7RU"}, {"The Old Rectory, Queen Square", "Bristol", "BS1 4DJ"},
		{"10 Downing Street", "London", "SW1A 2AA"}, {"2 Elm Hill", "Norwich", "NR1 3JU"},
		{"17 High Street", "Exeter", "EX1 1HS"}, {"Apartment 12, Stonegate", "York", "YO1 7HH"},
	}
	sexes = []string{"", request.SexFemale, request.SexMale, request.SexUnknown}
)

// sample is envelope i: a letter and one certificate, with names, places
// and optional boxes varied from one envelope to the next.
func sample(i int) *request.Envelope {
	pick := func(list []string, k int) string { return list[(i*k+i/len(list))%len(list)] }
	parent := pick(firstNames, 7) + " " + pick(surnames, 5)
	p := places[i%len(places)]
	env := &request.Envelope{
		SchemaVersion: request.SchemaVersion,
		EnvelopeID:    envelopeID(i),
		Recipient:     request.Recipient{Name: parent, Address: []string{p.street, p.town, p.postcode}},
		Letter:        request.Letter{Postage: []string{request.PostageFirst, request.PostageSecond}[i%2]},
		Certificates: []request.Certificate{{
			Reference:   fmt.Sprintf("BLC-2026-%06d", i),
			DateOfIssue: "2026-03-02",
			ParentName:  parent,
			BabyName:    pick(babyNames, 3),
			Sex:         sexes[i%len(sexes)],
			DateOfLoss:  []string{"2025-11-14", "2025-10", "2025", ""}[i%4],
			PlaceOfLoss: []string{"", p.town, "Queen Elizabeth the Queen Mother Hospital, Margate"}[i%3],
		}},
	}
	if i%3 == 0 {
		env.Certificates[0].OtherParentName = pick(firstNames, 11) + " " + pick(surnames, 3)
	}
	return env
}

// assemble reads the prepared envelopes in order and assembles them.
func assemble(ctx context.Context, dir string, n, perFile int, cpuProfile string) error {
	st, err := fsstore.New(filepath.Join(dir, "store"))
	if err != nil {
		return err
	}
	es := envelopes.New(st)
	outDir := filepath.Join(dir, "out")
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	out, err := fsstore.New(outDir)
	if err != nil {
		return err
	}
	r, err := renderer.New()
	if err != nil {
		return err
	}
	a, err := printfile.New(printfile.Config{Renderer: r, Store: out, EnvelopesPerFile: perFile, TempDir: dir})
	if err != nil {
		return err
	}
	// As the batcher lists a batch: first-class envelopes first, each
	// class in id order, numbered in that order. The samples alternate
	// classes, so this takes two passes, reading each envelope twice as
	// the batcher reads each request twice.
	list := func(yield func(printfile.Envelope, error) bool) {
		seq := 0
		for _, rank := range []int{0, 1} {
			for i := 1; i <= n; i++ {
				e, err := load(ctx, st, es, i)
				if err == nil && printfile.PostageRank(e.Request.Letter.Postage) != rank {
					continue
				}
				seq++
				e.Sequence = seq
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	m, err := a.Assemble(ctx, printfile.Batch{ID: "bench-1", CutOff: time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC), KeyPrefix: "batches/bench-1/"},
		iter.Seq2[printfile.Envelope, error](list))
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	data, err := m.JSON()
	if err != nil {
		return err
	}
	var size int64
	for _, f := range m.Files {
		size += f.Size
	}
	fmt.Printf("assembled %d envelopes, %d pages, into %d files (%.1f MB) and a %.1f MB manifest in %s on %d cores; peak RSS %s\n",
		m.Totals.Envelopes, m.Totals.Pages, len(m.Files), float64(size)/1e6, float64(len(data))/1e6,
		elapsed.Round(time.Millisecond), runtime.GOMAXPROCS(0), peakRSS())
	return nil
}

// load reads envelope i as the batcher does: the record, then the stored
// request it names.
func load(ctx context.Context, st *fsstore.Store, es *envelopes.Store, i int) (printfile.Envelope, error) {
	id := envelopeID(i)
	rec, err := es.Record(ctx, id)
	if err != nil {
		return printfile.Envelope{}, err
	}
	data, err := es.Read(ctx, rec.Request)
	if err != nil {
		return printfile.Envelope{}, err
	}
	req, err := request.Decode(data)
	if err != nil {
		return printfile.Envelope{}, err
	}
	return printfile.Envelope{Sequence: i, ID: id, Request: req, Record: rec}, nil
}

// peakRSS is the process's high-water resident set size (VmHWM).
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range bytes.Lines(data) {
		if v, ok := strings.CutPrefix(string(line), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
