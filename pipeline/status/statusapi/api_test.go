package statusapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/status/statusapi"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

type fixture struct {
	clock  *memqueue.ManualClock
	server *httptest.Server
	token  string
	log    *syncbuf.Buffer
	sealed *ledger.Sealed
}

// newFixture serves the API over a store with one sealed batch of two
// envelopes (the twins sample, references BLC-2025-000201 and -000202),
// indexed by reference when withIndex.
func newFixture(t *testing.T, withIndex bool) *fixture {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{log: &syncbuf.Buffer{}, clock: memqueue.NewManualClock(cutOff.Add(time.Hour))}
	f.sealed = batchtest.Seal(t, s, "northprint", cutOff, 2)
	// The second envelope is spoiled, held for an operator, dismissed,
	// and then reprinted on an operator's word after all: every reprint
	// step and field is in its timeline.
	l, held := ledger.NewStore(s), f.sealed.Envelopes[1]
	if _, _, err := l.RecordOutcome(t.Context(), ledger.Outcome{BatchID: f.sealed.BatchID, EnvelopeID: held.EnvelopeID, Sequence: held.Sequence,
		Outcome: ledger.OutcomeSpoiled, Code: "paper-jam", At: cutOff.Add(15 * time.Hour), ReportedAt: cutOff.Add(15 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.RecordHold(t.Context(), ledger.Hold{EnvelopeID: held.EnvelopeID, Run: 1, BatchID: f.sealed.BatchID, Sequence: held.Sequence,
		Code: ledger.HoldLimit, HeldAt: cutOff.Add(16 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Dismiss(t.Context(), ledger.Dismissal{EnvelopeID: held.EnvelopeID, Run: 1, BatchID: f.sealed.BatchID, Sequence: held.Sequence,
		Reason: ledger.DismissNotNeeded, DismissedAt: cutOff.Add(16*time.Hour + 30*time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.CreateReprint(t.Context(), ledger.Reprint{EnvelopeID: held.EnvelopeID, Run: 1, Reason: ledger.ReasonSpoiled, Source: ledger.SourceOperator,
		BatchID: f.sealed.BatchID, Sequence: held.Sequence, RequestedAt: cutOff.Add(17 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var tokens bearer.Set
	var hash string
	f.token, hash = bearer.New("qa_")
	if err := tokens.Add("alice", hash); err != nil {
		t.Fatal(err)
	}
	cfg := statusapi.Config{
		Timelines: status.New(envelopes.New(s), ledger.NewStore(s), s),
		Store:     s, Tokens: &tokens, Logger: slog.New(slog.NewTextHandler(f.log, nil)), Clock: f.clock,
	}
	if withIndex {
		x, _ := refindex.New(bytes.Repeat([]byte("k"), refindex.MinKeyLen))
		// The first envelope is indexed as the worker would; so is an id
		// with no record (an attempt that never committed).
		for _, k := range append(x.Keys(f.sealed.Envelopes[0].EnvelopeID, []string{"BLC-2025-000201", "BLC-2025-000202"}),
			x.Keys("E-NEVER-COMMITTED", []string{"BLC-2025-000201"})...) {
			if _, err := s.Put(t.Context(), k, nil); err != nil {
				t.Fatal(err)
			}
		}
		cfg.Index = x
	}
	api, err := statusapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/internal/", api)
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

// do sends a request with token (none if empty) and returns the status,
// headers and body.
func (f *fixture) do(t *testing.T, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, f.server.URL+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, true)
	show := statusapi.BasePath + "/envelopes/" + f.sealed.Envelopes[0].EnvelopeID
	_, wrongHash := bearer.New("qa_")
	for _, c := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"no token", "GET", show, "", nil, 401},
		{"wrong token", "GET", show, "qa_wrong", nil, 401},
		{"the hash for the token", "GET", show, bearer.Hash(f.token), nil, 401},
		{"another token's hash", "GET", show, wrongHash, nil, 401},
		{"right token", "GET", show, f.token, nil, 200},
		{"lookup, no token", "POST", statusapi.BasePath + "/envelopes/lookup", "", map[string]string{"reference": "BLC-2025-000201"}, 401},
		{"lookup, wrong token", "POST", statusapi.BasePath + "/envelopes/lookup", "qa_wrong", map[string]string{"reference": "BLC-2025-000201"}, 401},
		{"lookup, right token", "POST", statusapi.BasePath + "/envelopes/lookup", f.token, map[string]string{"reference": "BLC-2025-000201"}, 200},
	} {
		status, h, body := f.do(t, c.method, c.path, c.token, c.body)
		if status != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, status, c.want, body)
		}
		if status == 401 && (h.Get("WWW-Authenticate") == "" || bytes.Contains(body, []byte("northprint")) || bytes.Contains(body, []byte(cutOff.Format("20060102")))) {
			t.Errorf("%s: a refusal without WWW-Authenticate, or that tells something: %s", c.name, body)
		}
	}
}

// TestFailedAuthenticationsAreLimited: as on the supplier's API, an
// address that keeps failing is told to wait, once logged, while a valid
// token from it is still served.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	f := newFixture(t, false)
	show := statusapi.BasePath + "/envelopes/" + f.sealed.Envelopes[0].EnvelopeID
	for i := range bearer.FailBurst {
		if status, _, _ := f.do(t, "GET", show, "qa_wrong", nil); status != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, status)
		}
	}
	status, h, body := f.do(t, "GET", show, "qa_wrong", nil)
	if status != 429 || h.Get("Retry-After") != "6" || !bytes.Contains(body, []byte("too-many-requests")) {
		t.Errorf("past the burst: %d, Retry-After %q: %s", status, h.Get("Retry-After"), body)
	}
	if status, _, _ := f.do(t, "GET", show, f.token, nil); status != 200 {
		t.Errorf("the right token from a refused address: %d, want 200", status)
	}
	f.clock.Advance(bearer.FailEvery)
	if status, _, _ := f.do(t, "GET", show, "qa_wrong", nil); status != 401 {
		t.Errorf("after %v: %d, want 401", bearer.FailEvery, status)
	}
	if n := strings.Count(f.log.String(), "too many failed authentications"); n != 1 {
		t.Errorf("the lockout was logged %d times, want once:\n%s", n, f.log.String())
	}
}

func TestShow(t *testing.T) {
	f := newFixture(t, false)
	id := f.sealed.Envelopes[0].EnvelopeID
	status, h, body := f.do(t, "GET", statusapi.BasePath+"/envelopes/"+id, f.token, nil)
	if status != 200 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v: %s", status, h, body)
	}
	var tl struct {
		EnvelopeID string `json:"envelopeId"`
		State      string `json:"state"`
		Entries    []struct {
			Step     string `json:"step"`
			Sequence int    `json:"sequence"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(body, &tl); err != nil {
		t.Fatal(err)
	}
	if tl.EnvelopeID != id || tl.State != "batched" || len(tl.Entries) != 2 || tl.Entries[1].Sequence != 1 {
		t.Errorf("timeline %s", body)
	}
	// The second was held for an operator, then reprinted on the
	// operator's word: the hold's code and the print it is about, and who
	// asked for the reprint.
	_, _, body = f.do(t, "GET", statusapi.BasePath+"/envelopes/"+f.sealed.Envelopes[1].EnvelopeID, f.token, nil)
	for _, want := range []string{`{"step":"held","at":"2026-03-03T09:30:00Z","run":2,"reprint":1,"code":"reprint-limit"}`,
		`{"step":"dismissed","at":"2026-03-03T10:00:00Z","run":2,"reprint":1,"code":"not-needed"}`,
		`{"step":"reprinted","at":"2026-03-03T10:30:00Z","run":2,"reprint":1,"code":"spoiled","source":"operator"}`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("the held envelope's timeline has no %s: %s", want, body)
		}
	}
	if status, _, body := f.do(t, "GET", statusapi.BasePath+"/envelopes/E-NOWHERE", f.token, nil); status != 404 || !bytes.Contains(body, []byte("not-found")) {
		t.Errorf("unknown envelope: %d %s", status, body)
	}
	if status, _, body := f.do(t, "GET", statusapi.BasePath+"/envelopes/Priya%20Raman", f.token, nil); status != 400 || bytes.Contains(body, []byte("Priya")) {
		t.Errorf("a malformed id: %d %s", status, body)
	}
	if log := f.log.String(); !strings.Contains(log, "by=alice envelope="+id+" status=200") {
		t.Errorf("the log does not say who looked what up:\n%s", log)
	}
}

func TestLookup(t *testing.T) {
	f := newFixture(t, true)
	path := statusapi.BasePath + "/envelopes/lookup"
	for ref, want := range map[string]int{"BLC-2025-000201": 1, " blc-2025-000202 ": 1, "BLC-2025-999999": 0} {
		status, _, body := f.do(t, "POST", path, f.token, map[string]string{"reference": ref})
		var res statusapi.LookupResult
		if err := json.Unmarshal(body, &res); status != 200 || err != nil || len(res.Envelopes) != want {
			t.Errorf("%q: %d %v %s; want %d envelopes", ref, status, err, body, want)
			continue
		}
		if want == 1 && res.Envelopes[0].EnvelopeID != f.sealed.Envelopes[0].EnvelopeID {
			t.Errorf("%q found %s", ref, res.Envelopes[0].EnvelopeID)
		}
	}
	if status, _, body := f.do(t, "POST", path, f.token, map[string]string{"reference": "BLC/2025/000201"}); status != 422 || bytes.Contains(body, []byte("BLC")) {
		t.Errorf("a malformed reference: %d %s", status, body)
	}
	if status, _, _ := f.do(t, "POST", path, f.token, map[string]any{"reference": "BLC-2025-000201", "name": "x"}); status != 400 {
		t.Errorf("an unknown field: %d", status)
	}
	if strings.Contains(f.log.String(), "BLC-2025") {
		t.Errorf("the log holds a reference:\n%s", f.log.String())
	}

	off := newFixture(t, false)
	if status, _, body := off.do(t, "POST", path, off.token, map[string]string{"reference": "BLC-2025-000201"}); status != 501 ||
		!bytes.Contains(body, []byte("reference-lookup-off")) || !bytes.Contains(body, []byte("--reference-key-file")) {
		t.Errorf("lookup without a key: %d %s", status, body)
	}
}
