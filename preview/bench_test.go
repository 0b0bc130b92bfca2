package preview

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCertificatePNG measures one PNG preview through the handler,
// without the network: drawn afresh each time (miss), or from the cache
// (hit). The corpus cases draw certificates with every name box and the
// place filled from testdata/names/corpus.json, each one new: in Latin
// (with its marks), and in the other scripts (Arabic, Bengali, Chinese,
// Devanagari…), which need more of the shaper and their own faces.
func BenchmarkCertificatePNG(b *testing.B) {
	s := newTestServer(b, Options{})
	b.Run("miss", func(b *testing.B) {
		cpu := cpuTime(b)
		for b.Loop() {
			benchMisses++
			i := benchMisses
			w := s.postJSON("/api/v1/preview/certificate.png", fmt.Sprintf(`{"parentName":"Alex Morgan","babyName":"Robin %d","dateOfLoss":"2024-11"}`, i))
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
		b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
	for _, c := range []struct {
		name  string
		latin bool
	}{{"miss-corpus-latin", true}, {"miss-corpus-scripts", false}} {
		next := corpusCertificates(b, c.latin)
		b.Run(c.name, func(b *testing.B) {
			cpu := cpuTime(b)
			for b.Loop() {
				benchMisses++
				i := benchMisses
				if w := s.postJSON("/api/v1/preview/certificate.png", next(i)); w.Code != http.StatusOK {
					b.Fatal(w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			if w := s.postJSON("/api/v1/preview/certificate.png", robin); w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	})
}

// benchMisses numbers the certificates the miss cases ask for, across
// runs of the benchmark (-count), which share the handler's cache.
var benchMisses int

// cpuTime is the CPU time the process has used, user and system: on a
// machine shared with other work, wall-clock time per preview measures the
// neighbours too.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// corpusCertificates returns the i-th certificate made from the corpus's
// values in Latin, or in the scripts other than Latin, Greek and
// Cyrillic: the scripts take turns, and within one, two parents, two
// babies' names as one name and a place are combined, so that each i up
// to some thousands is a certificate, and a name, not drawn before.
func corpusCertificates(b testing.TB, latin bool) func(i int) string {
	data, err := os.ReadFile("../testdata/names/corpus.json")
	if err != nil {
		b.Fatal(err)
	}
	var entries []struct{ Script, Field, Value string }
	if err := json.Unmarshal(data, &entries); err != nil {
		b.Fatal(err)
	}
	byScript := map[string]map[string][]string{}
	for _, e := range entries {
		if strings.Contains(e.Script, "+") || (e.Script == "Latn") != latin || e.Script == "Grek" || e.Script == "Cyrl" {
			continue
		}
		if byScript[e.Script] == nil {
			byScript[e.Script] = map[string][]string{}
		}
		byScript[e.Script][e.Field] = append(byScript[e.Script][e.Field], e.Value)
	}
	var scripts []string
	for s, f := range byScript {
		if len(f["parentName"]) > 0 && len(f["babyName"]) > 0 && len(f["placeOfLoss"]) > 0 {
			scripts = append(scripts, s)
		}
	}
	slices.Sort(scripts)
	return func(i int) string {
		f := byScript[scripts[i%len(scripts)]]
		j := i / len(scripts)
		ps, bs, ls := f["parentName"], f["babyName"], f["placeOfLoss"]
		body, _ := json.Marshal(map[string]string{
			"parentName": ps[j%len(ps)], "otherParentName": ps[(j+1)%len(ps)],
			"babyName":    bs[j%len(bs)] + " " + bs[j/len(bs)%len(bs)],
			"placeOfLoss": ls[j/len(bs)/len(bs)%len(ls)],
			"sex":         "female", "dateOfLoss": fmt.Sprintf("%04d-%02d", 2024-j/12%20, 1+j%12),
		})
		return string(body)
	}
}
