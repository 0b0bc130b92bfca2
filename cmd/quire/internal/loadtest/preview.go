package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quire-print/quire/preview"
	"github.com/quire-print/quire/renderer"
)

// Bounds on a preview load run, so that a slip of the finger cannot turn
// it into a denial of service, even of this machine.
const (
	maxPreviewClients  = 256
	maxPreviewRequests = 1_000_000
	maxPreviewDuration = 5 * time.Minute
)

// RunPreview is "quire previewload" with its arguments: concurrent clients
// ask a preview server on loopback for certificate previews, a mix of
// cached and new ones, and it reports previews/s and latency percentiles.
// It returns the exit code: 0, 1 for a failed run, 2 for a usage error.
func RunPreview(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("previewload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	clients := fs.Int("clients", 32, "concurrent `clients`, each sending one request at a time")
	duration := fs.Duration("duration", 10*time.Second, "how long to send requests (at most 5m)")
	requests := fs.Int("n", 0, "stop after this many requests; 0: run for --duration")
	rate := fs.Float64("rate", 0, "send this many requests a `second` in all, on a schedule; 0: each client sends its next request as soon as it has an answer")
	missRate := fs.Float64("miss", 0.1, "`fraction` of requests for a certificate not asked for before (a cache miss)")
	hotSet := fs.Int("hot", 64, "how many different certificates the other requests ask for again and again")
	format := fs.String("format", "png", "`format` to ask for: png, pdf or json")
	width := fs.Int("width", preview.DefaultWidth, "image width in `pixels`, for png")
	target := fs.String("url", "", "base `URL` of a running quire serve on loopback; empty: start one in this process")
	seed := fs.Uint64("seed", 1, "`seed` of the request mix, for runs that can be repeated")
	renders := fs.Int("renders", 0, "previews drawn at once by the server in this process (`n`); 0: its default, the number of CPUs")
	queue := fs.Int("queue", 0, "requests that may wait to draw, in the server in this process (`n`); 0: its default, 8 per render")
	complexFrac := fs.Float64("complex", 0, "`fraction` of certificates, hot and new alike, whose names and place are in a script other than Latin, Greek and Cyrillic (Arabic, Bengali, Chinese, Devanagari…), from --names; their latency is also reported apart from the others'")
	namesFile := fs.String("names", filepath.Join("testdata", "names", "corpus.json"), "names corpus `file` for --complex")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: quire previewload [flags]

Load test of the preview API on loopback. --clients clients each post
certificate previews one after another; a --miss fraction of them ask for a
certificate nobody asked for before (drawn afresh), the rest for one of
--hot certificates (answered from the cache after the first time, which the
warm-up does). Reports previews/s and p50/p90/p99 latency. With --complex,
that fraction of certificates has names in other scripts, and their latency
and the Latin ones' are reported apart, from the same run.

Without --rate the clients go as fast as the server answers, which finds
its throughput and the latency at saturation. With --rate the requests are
sent on a schedule and each latency counts from when its request was due,
so a slow answer that delays the next request is not hidden.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fs.Usage()
		return 2
	case *clients < 1 || *clients > maxPreviewClients:
		fmt.Fprintf(stderr, "quire previewload: --clients must be between 1 and %d\n", maxPreviewClients)
		return 2
	case *duration <= 0 || *duration > maxPreviewDuration:
		fmt.Fprintf(stderr, "quire previewload: --duration must be above 0 and at most %v\n", maxPreviewDuration)
		return 2
	case *requests < 0 || *requests > maxPreviewRequests:
		fmt.Fprintf(stderr, "quire previewload: --n must be between 0 and %d\n", maxPreviewRequests)
		return 2
	case *rate < 0 || *rate > 100_000:
		fmt.Fprintln(stderr, "quire previewload: --rate must be between 0 and 100000")
		return 2
	case *missRate < 0 || *missRate > 1:
		fmt.Fprintln(stderr, "quire previewload: --miss must be between 0 and 1")
		return 2
	case *complexFrac < 0 || *complexFrac > 1:
		fmt.Fprintln(stderr, "quire previewload: --complex must be between 0 and 1")
		return 2
	case *hotSet < 1 || *hotSet > 10_000:
		fmt.Fprintln(stderr, "quire previewload: --hot must be between 1 and 10000")
		return 2
	case *format != "png" && *format != "pdf" && *format != "json":
		fmt.Fprintln(stderr, "quire previewload: --format must be png, pdf or json")
		return 2
	case *renders < 0 || *renders > 256 || *queue < 0 || *queue > 4096:
		fmt.Fprintln(stderr, "quire previewload: --renders must be between 0 and 256, --queue between 0 and 4096")
		return 2
	case *target != "" && (*renders != 0 || *queue != 0):
		fmt.Fprintln(stderr, "quire previewload: --renders and --queue set the server in this process; with --url, set them on that server")
		return 2
	case *width < preview.MinWidth || *width > preview.MaxWidth:
		fmt.Fprintf(stderr, "quire previewload: --width must be between %d and %d\n", preview.MinWidth, preview.MaxWidth)
		return 2
	}

	var names *corpusNames
	if *complexFrac > 0 {
		var err error
		if names, err = readCorpus(*namesFile); err != nil {
			fmt.Fprintf(stderr, "quire previewload: --names: %v\n", err)
			return 1
		}
	}

	base := *target
	var handler *preview.Handler
	if base == "" {
		r, err := renderer.New()
		if err != nil {
			fmt.Fprintf(stderr, "quire previewload: %v\n", err)
			return 1
		}
		// The server logs nothing here: a line per request would measure
		// the terminal.
		handler, err = preview.New(preview.Options{
			Renderer: r, Logger: slog.New(slog.DiscardHandler), MaxRenders: *renders, MaxQueue: *queue,
		})
		if err != nil {
			fmt.Fprintf(stderr, "quire previewload: %v\n", err)
			return 1
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "quire previewload: %v\n", err)
			return 1
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		base = "http://" + ln.Addr().String()
	} else if err := checkLoopback(base); err != nil {
		fmt.Fprintf(stderr, "quire previewload: %v\n", err)
		return 2
	}

	endpoint := strings.TrimSuffix(base, "/") + "/api/v1/preview/certificate." + *format
	if *format == "png" {
		endpoint += fmt.Sprintf("?width=%d", *width)
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: *clients, MaxIdleConnsPerHost: *clients},
		Timeout:   30 * time.Second,
	}
	post := func(ctx context.Context, body string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}

	// Warm up: every hot certificate once, so that asking again is a hit.
	// The first --complex fraction of them are in other scripts.
	hot := make([]string, *hotSet)
	hotComplex := make([]bool, *hotSet)
	for i := range hot {
		hot[i] = loadCertificate("Hot", i)
		if hotComplex[i] = float64(i) < *complexFrac*float64(len(hot)); hotComplex[i] {
			hot[i] = names.certificate("Hot", i)
		}
		if code, err := post(ctx, hot[i]); err != nil || code != http.StatusOK {
			fmt.Fprintf(stderr, "quire previewload: warming up: %d %v\n", code, err)
			return 1
		}
	}
	var before preview.Stats
	if handler != nil {
		before = handler.Stats()
	}

	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, 1<<16)
		complexOf []bool // for latencies[i], with --complex
		statuses  = map[int]int{}
		failures  []error
		sent      atomic.Int64
		misses    atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	// With --rate, a pacer hands out the time each request is due.
	var due chan time.Time
	if *rate > 0 {
		due = make(chan time.Time, *clients)
		interval := time.Duration(float64(time.Second) / *rate)
		go func() {
			timer := time.NewTimer(0)
			defer timer.Stop()
			for i := 0; ; i++ {
				next := start.Add(time.Duration(i) * interval)
				timer.Reset(time.Until(next))
				select {
				case <-timer.C:
				case <-runCtx.Done():
					return
				}
				select {
				case due <- next:
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(*seed, uint64(c)))
			var mine []time.Duration
			var mineComplex []bool
			counts := map[int]int{}
			for runCtx.Err() == nil {
				n := sent.Add(1)
				if *requests > 0 && n > int64(*requests) {
					break
				}
				h := rng.IntN(len(hot))
				body, isComplex := hot[h], hotComplex[h]
				if rng.Float64() < *missRate {
					n := int(misses.Add(1))
					body, isComplex = loadCertificate("Miss", n), false
					if names != nil && rng.Float64() < *complexFrac {
						body, isComplex = names.certificate("Miss", n), true
					}
				}
				t0 := time.Now()
				if due != nil {
					select {
					case t0 = <-due:
					case <-runCtx.Done():
					}
					if runCtx.Err() != nil {
						break
					}
				}
				code, err := post(runCtx, body)
				if runCtx.Err() != nil && err != nil {
					break // the run ended mid-request: not a failure
				}
				mine = append(mine, time.Since(t0))
				mineComplex = append(mineComplex, isComplex)
				counts[code]++
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			complexOf = append(complexOf, mineComplex...)
			for code, n := range counts {
				statuses[code] += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if len(latencies) == 0 {
		fmt.Fprintln(stderr, "quire previewload: no request finished")
		return 1
	}
	// Apart by kind of name, before the sort loses which was which.
	var latin, complexLat []time.Duration
	if names != nil {
		for i, d := range latencies {
			if complexOf[i] {
				complexLat = append(complexLat, d)
			} else {
				latin = append(latin, d)
			}
		}
	}
	slices.Sort(latencies)
	ok := statuses[http.StatusOK]
	pace := "as fast as answered"
	if *rate > 0 {
		pace = fmt.Sprintf("%.0f requests/s on a schedule", *rate)
	}
	fmt.Fprintf(stdout, "preview load: POST %s, %d clients, %s, %.0f%% new certificates (misses), %d hot ones, GOMAXPROCS %d\n",
		strings.TrimPrefix(endpoint, base), *clients, pace, *missRate*100, *hotSet, runtime.GOMAXPROCS(0))
	fmt.Fprintf(stdout, "  %d requests in %.2fs: %.0f previews/s (200 only), %.0f requests/s\n",
		len(latencies), elapsed.Seconds(), float64(ok)/elapsed.Seconds(), float64(len(latencies))/elapsed.Seconds())
	fmt.Fprintf(stdout, "  latency p50 %v, p90 %v, p99 %v, max %v\n",
		pct(latencies, 50), pct(latencies, 90), pct(latencies, 99), latencies[len(latencies)-1].Round(time.Millisecond/10))
	for _, k := range []struct {
		name string
		lat  []time.Duration
	}{{"Latin names", latin}, {"other scripts", complexLat}} {
		if names == nil || len(k.lat) == 0 {
			continue
		}
		slices.Sort(k.lat)
		fmt.Fprintf(stdout, "  %s: %d requests, latency p50 %v, p90 %v, p99 %v, max %v\n", k.name, len(k.lat),
			pct(k.lat, 50), pct(k.lat, 90), pct(k.lat, 99), k.lat[len(k.lat)-1].Round(time.Millisecond/10))
	}
	codes := slices.Sorted(func(yield func(int) bool) {
		for code := range statuses {
			if !yield(code) {
				return
			}
		}
	})
	var parts []string
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", statuses[code], code))
	}
	fmt.Fprintf(stdout, "  statuses: %s\n", strings.Join(parts, ", "))
	if handler != nil {
		s := handler.Stats()
		fmt.Fprintf(stdout, "  server: %d hits, %d misses, %d shared, %d turned away (503), %d evictions; cache %d entries, %.1f MiB\n",
			s.Hits-before.Hits, s.Misses-before.Misses, s.Shared-before.Shared, s.Rejected-before.Rejected,
			s.Evictions-before.Evictions, s.CacheEntries, float64(s.CacheBytes)/(1<<20))
	}
	if len(failures) > 0 || ok != len(latencies) {
		fmt.Fprintf(stderr, "quire previewload: %d of %d requests did not get 200", len(latencies)-ok, len(latencies))
		if len(failures) > 0 {
			fmt.Fprintf(stderr, " (first error: %v)", failures[0])
		}
		fmt.Fprintln(stderr)
		return 1
	}
	return 0
}

// loadCertificate is a made-up certificate preview, different for every
// (kind, i): kind "Hot" for the repeated set, "Miss" for fresh ones.
func loadCertificate(kind string, i int) string {
	return fmt.Sprintf(`{"parentName":"Alex Morgan","babyName":"%s %d","sex":"female","dateOfLoss":"2024-11","placeOfLoss":"Canterbury, Kent"}`, kind, i)
}

// checkLoopback refuses a target that is not on this machine: the load
// test is for loopback only.
func checkLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return errors.New("--url must look like http://127.0.0.1:8080")
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--url must be on loopback (127.0.0.1, ::1 or localhost), not %q", host)
	}
	return nil
}
