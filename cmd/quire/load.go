package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/quire-print/quire/cmd/quire/internal/loadtest"
	"github.com/quire-print/quire/internal/envflag"
	"github.com/quire-print/quire/pipeline/service"
)

// runLoad implements "quire load": its flags, then loadtest.Run.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := envflag.New("load", stderr)
	fs := e.FlagSet()
	svc := serviceFlags(e)
	c := loadtest.Config{Watch: loadtest.Processes{}}
	fs.IntVar(&c.N, "n", 1000, "envelopes to publish (at most 100000)")
	fs.Float64Var(&c.Rate, "rate", 0, "publish at this many envelopes per `second`; 0: as fast as possible")
	fs.IntVar(&c.RawN, "raw-n", 300, "envelopes' worth of objects to PUT straight to S3 for the baseline")
	fs.StringVar(&c.Sample, "sample", filepath.Join("testdata", "requests", "valid", "twins.json"), "request `file` to publish (its envelope id is replaced)")
	fs.BoolVar(&c.StartServe, "start-serve", true, "start a quire serve in this process under a fresh prefix; false: load a running one at --amqp-prefix")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this `duration`")
	fs.BoolVar(&c.Same, "same", false, "publish the sample itself every time (by default each envelope names different people)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the run's envelopes in S3 (by default they are deleted after the run)")
	fs.BoolVar(&c.Transport, "transport", true, "also run the pipeline's RabbitMQ and S3 traffic without Quire's work, for the most any pipeline could reach on this machine")
	fs.Var(c.Watch, "cpu-of", "also report the CPU per envelope of the process `name=pid` (e.g. minio=1234; repeatable; Linux)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the in-process serve included) to `file`")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: quire load --amqp-url URL --s3-endpoint HOST:PORT --s3-bucket B [flags]

Load harness. Publishes --n envelopes through RabbitMQ, waits for their
rendered events, and reports envelopes/s end to end and p50/p99 latency;
then the rate of the same RabbitMQ and S3 traffic without Quire's work
(--transport), and the raw S3 PUT rate for the same object sizes.
Loopback use only.

Flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, args); !ok {
		return code
	}
	c.Service = *svc
	r, err := service.NewRenderer()
	if err != nil {
		fmt.Fprintf(stderr, "quire load: %v\n", err)
		return 1
	}
	c.Renderer = r
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire load: %v\n", err)
		return 2
	}
	if err := c.Service.Validate(); err != nil {
		fmt.Fprintf(stderr, "quire load: invalid configuration:\n%v\n", indent(err))
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "quire load: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "quire load: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := loadtest.Run(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "quire load: %v\n", err)
		return 1
	}
	return 0
}
