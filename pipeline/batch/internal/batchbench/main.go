// Command batchbench measures a whole cut-off as quire serve runs it: the
// batcher lists the ready index, claims and checks every envelope, has the
// real print files assembled (pipeline/batch/printfile), seals the batch
// and announces every envelope, on a filesystem store that printbench
// prepared:
//
//	go run ./pipeline/batch/printfile/internal/printbench -dir /tmp/qbench -n 10000 prepare
//	cp -a /tmp/qbench/store /tmp/qbench/run      # a cut-off changes the store: use a copy each time
//	go build -o /tmp/batchbench ./pipeline/batch/internal/batchbench
//	/tmp/batchbench -store /tmp/qbench/run
//
// It prints the time the cut-off took, what it made, and the process's
// peak resident memory (VmHWM).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/renderer"
)

func main() { os.Exit(run()) }

// counted counts events instead of publishing them.
type counted struct{ n atomic.Int64 }

func (c *counted) Publish(context.Context, string, []byte) error { c.n.Add(1); return nil }

// nobody is a supplier that is never handed anything: the cut-off alone is
// measured.
type nobody struct{}

func (nobody) Name() string                               { return "bench" }
func (nobody) Adapter() string                            { return "none" }
func (nobody) Send(context.Context, *ledger.Sealed) error { return nil }

func run() int {
	dir := flag.String("store", "", "filesystem store prepared by printbench (a copy: the cut-off changes it)")
	max := flag.Int("max", 10000, "most envelopes in a batch")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: batchbench -store DIR [-max N]")
		return 2
	}
	st, err := fsstore.New(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := renderer.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sched, _ := schedule.New(schedule.Config{})
	cutOff := time.Now().Add(time.Hour).Truncate(time.Second)
	clock := memqueue.NewManualClock(cutOff.Add(time.Second))
	asm, err := printfile.New(printfile.Config{Renderer: r, Store: st})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ev := &counted{}
	b, err := batch.New(batch.Config{Store: st, Schedule: sched, Assembler: asm, Supplier: nobody{},
		Events: ev, Clock: clock, MaxEnvelopes: *max, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	res, err := b.CutOff(context.Background(), cutOff)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	envs, pages := 0, 0
	for _, s := range res.Batches {
		envs += len(s.Envelopes)
		pages += s.Pages
	}
	fmt.Printf("cut-off: %d batches, %d envelopes, %d pages, %d events in %s (%.0f envelopes/s); peak RSS %s\n",
		len(res.Batches), envs, pages, ev.n.Load(), elapsed.Round(time.Millisecond), float64(envs)/elapsed.Seconds(), peakRSS())
	return 0
}

func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
