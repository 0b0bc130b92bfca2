package pull_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/pipeline/supplier/suppliertest"
)

var cutOff = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)

// Client is a supplier's view of the API, for tests.
type Client struct {
	t     testing.TB
	URL   string
	Token string
}

// Do sends a request and returns the status, headers and body.
func (c Client) Do(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.URL+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

func (c Client) listed() []pull.Batch {
	c.t.Helper()
	status, _, body := c.Do("GET", pull.BasePath+"/batches", nil)
	if status != http.StatusOK {
		c.t.Fatalf("listing: %d %s", status, body)
	}
	var out struct{ Batches []pull.Batch }
	if err := json.Unmarshal(body, &out); err != nil {
		c.t.Fatal(err)
	}
	return out.Batches
}

// received downloads every file of batch id as a supplier would, checking
// each against the SHA-256 the listing and the headers give.
func (c Client) received(id string) (map[string][]byte, bool) {
	c.t.Helper()
	n := 0
	for _, b := range c.listed() {
		if b.BatchID == id {
			n++
		}
	}
	if n > 1 {
		c.t.Errorf("batch %s is listed %d times", id, n)
	}
	status, _, body := c.Do("GET", pull.BasePath+"/batches/"+id, nil)
	if status == http.StatusNotFound {
		if n > 0 {
			c.t.Errorf("batch %s is listed but not found", id)
		}
		return nil, false
	}
	var b pull.Batch
	if status != http.StatusOK || json.Unmarshal(body, &b) != nil {
		c.t.Fatalf("batch %s: %d %s", id, status, body)
	}
	got := map[string][]byte{}
	for _, f := range b.Files {
		status, h, data := c.Do("GET", f.Href, nil)
		if status != http.StatusOK {
			c.t.Fatalf("%s: %d %s", f.Href, status, data)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || h.Get("ETag") != `"`+f.SHA256+`"` ||
			h.Get("Repr-Digest") != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" ||
			h.Get("Content-Length") != fmt.Sprint(len(data)) {
			c.t.Errorf("%s: content SHA-256 %x, listing %s, headers %v", f.Href, sum, f.SHA256, h)
		}
		got[f.Name] = data
	}
	return got, true
}

type retention struct {
	mu     sync.Mutex
	posted map[string]time.Time
	fail   error
}

func (r *retention) Posted(ctx context.Context, id string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if r.posted == nil {
		r.posted = map[string]time.Time{}
	}
	r.posted[id] = at
	return nil
}

type fixture struct {
	store   storage.Store
	api     *pull.API
	adapter *pull.Adapter
	ev      *batchtest.Events
	ret     *retention
	clock   *memqueue.ManualClock
	logs    *bytes.Buffer
	client  Client // supplier "conformance"
	other   Client // supplier "elsewhere"
	server  *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureOn(t, s)
}

func newFixtureOn(t *testing.T, s storage.Store) *fixture {
	t.Helper()
	f := &fixture{store: s, ev: &batchtest.Events{}, ret: &retention{},
		clock: memqueue.NewManualClock(cutOff.Add(24 * time.Hour)), logs: &bytes.Buffer{}}
	tok, hash := pull.NewToken()
	otherTok, otherHash := pull.NewToken()
	api, err := pull.New(pull.Config{
		Store: s, Events: f.ev, Retention: f.ret, Clock: f.clock,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: f.logs}, nil)),
		Suppliers: []pull.Credentials{
			{Supplier: suppliertest.Supplier, TokenSHA256: []string{hash}},
			{Supplier: "elsewhere", TokenSHA256: []string{otherHash}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.api = api
	if f.adapter, err = pull.NewAdapter(suppliertest.Supplier, s); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/supplier/", api)
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	f.client = Client{t, f.server.URL, tok}
	f.other = Client{t, f.server.URL, otherTok}
	t.Cleanup(func() { batchtest.CheckNoPersonalData(t, "the logs", f.logs.String()) })
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *fixture) delivered(t *testing.T, n int) *ledger.Sealed {
	t.Helper()
	s := batchtest.Seal(t, f.store, suppliertest.Supplier, cutOff, n)
	if _, err := f.adapter.Deliver(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	suppliertest.Run(t, func(t *testing.T) suppliertest.Harness {
		f := newFixture(t)
		return suppliertest.Harness{Store: f.store, Adapter: f.adapter, Received: func(t *testing.T, id string) (map[string][]byte, bool) {
			c := f.client
			c.t = t
			return c.received(id)
		}}
	})
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 2)
	paths := []string{"/batches", "/batches/" + s.BatchID, "/batches/" + s.BatchID + "/manifest",
		"/batches/" + s.BatchID + "/files/" + s.Files[0].Name}
	for _, c := range []Client{{t, f.server.URL, ""}, {t, f.server.URL, "qs_guessed"}, {t, f.server.URL, strings.Repeat("x", 600)}} {
		// A full budget of failures for each (all calls come from
		// 127.0.0.1): the limit is TestFailedAuthenticationsAreLimited's.
		f.clock.Advance(pull.FailBurst * pull.FailEvery)
		for _, p := range paths {
			status, h, body := c.Do("GET", pull.BasePath+p, nil)
			if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") ||
				h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s with token %.10q: %d %v %s", p, c.Token, status, h, body)
			}
		}
		if status, _, _ := c.Do("POST", pull.BasePath+"/batches/"+s.BatchID+"/receipt", nil); status != http.StatusUnauthorized {
			t.Errorf("receipt with token %.10q: %d", c.Token, status)
		}
	}
	// Another supplier's token works, but not for this supplier's batch:
	// it is "not found", as if it did not exist.
	if got := f.other.listed(); len(got) != 0 {
		t.Errorf("another supplier lists %v", got)
	}
	for _, p := range paths[1:] {
		status, _, body := f.other.Do("GET", pull.BasePath+p, nil)
		if status != http.StatusNotFound {
			t.Errorf("%s with another supplier's token: %d %s", p, status, body)
		}
	}
	if status, _, _ := f.other.Do("POST", pull.BasePath+"/batches/"+s.BatchID+"/receipt", nil); status != http.StatusNotFound {
		t.Errorf("another supplier acknowledged the batch: %d", status)
	}
	if _, err := ledger.NewStore(f.store).Receipt(t.Context(), s.BatchID); !errors.Is(err, storage.ErrNotFound) {
		t.Error("a receipt was stored for another supplier's acknowledgement")
	}
	// The hashes are what is configured: the token itself is never kept.
	tok, hash := pull.NewToken()
	if len(tok) < 40 || pull.HashToken(tok) != hash || strings.Contains(hash, tok) {
		t.Errorf("NewToken = %q, %q", tok, hash)
	}
}

func TestNotHandedOverIsNotFound(t *testing.T) {
	f := newFixture(t)
	s := batchtest.Seal(t, f.store, suppliertest.Supplier, cutOff, 1)
	if status, _, _ := f.client.Do("GET", pull.BasePath+"/batches/"+s.BatchID, nil); status != http.StatusNotFound {
		t.Errorf("a sealed batch not handed over: %d", status)
	}
	for _, id := range []string{"nonsense", "..", "20991231T000000Z-001"} {
		status, h, body := f.client.Do("GET", pull.BasePath+"/batches/"+id, nil)
		if status != http.StatusNotFound || h.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", id, status, body)
		}
	}
	if status, _, _ := f.client.Do("GET", pull.BasePath+"/nowhere", nil); status != http.StatusNotFound {
		t.Errorf("an unknown path: %d", status)
	}
	if status, _, _ := f.client.Do("DELETE", pull.BasePath+"/batches", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("an unknown method: %d", status)
	}
}

func TestReceipt(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 1)
	var first struct {
		AcknowledgedAt time.Time
		First          bool
	}
	status, _, body := f.client.Do("POST", pull.BasePath+"/batches/"+s.BatchID+"/receipt", nil)
	if status != http.StatusOK || json.Unmarshal(body, &first) != nil || !first.First || !first.AcknowledgedAt.Equal(f.clock.Now()) {
		t.Fatalf("receipt: %d %s", status, body)
	}
	if got := f.client.listed(); len(got) != 0 {
		t.Errorf("an acknowledged batch is still listed: %v", got)
	}
	f.clock.Advance(time.Hour)
	status, _, body = f.client.Do("POST", pull.BasePath+"/batches/"+s.BatchID+"/receipt", nil)
	var again struct {
		AcknowledgedAt time.Time
		First          bool
	}
	if status != http.StatusOK || json.Unmarshal(body, &again) != nil || again.First || !again.AcknowledgedAt.Equal(first.AcknowledgedAt) {
		t.Errorf("second receipt: %d %s", status, body)
	}
	// Still there to fetch again.
	if _, ok := f.client.received(s.BatchID); !ok {
		t.Error("an acknowledged batch cannot be fetched")
	}
}

func TestOutcomes(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 3)
	path := pull.BasePath + "/batches/" + s.BatchID + "/outcomes"
	at := f.clock.Now().Add(-time.Hour)
	m := s.Envelopes
	report := map[string]any{"outcomes": []pull.Report{
		{Sequence: 1, EnvelopeID: m[0].EnvelopeID, Outcome: "printed", At: at},
		{Sequence: 1, EnvelopeID: m[0].EnvelopeID, Outcome: "posted", At: at},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "spoiled", At: at, Code: "paper-jam"},
		{Sequence: 3, EnvelopeID: m[2].EnvelopeID, Outcome: "returned", At: at, Code: "addressee-gone-away"},
	}}
	status, _, body := f.client.Do("POST", path, report)
	if status != http.StatusOK || !strings.Contains(string(body), `"recorded":4`) {
		t.Fatalf("report: %d %s", status, body)
	}
	for kind, want := range map[string][]string{
		events.TypePrinted: {m[0].EnvelopeID}, events.TypePosted: {m[0].EnvelopeID},
		events.TypeSpoiled: {m[1].EnvelopeID}, events.TypeReturned: {m[2].EnvelopeID},
	} {
		if got := f.ev.Of(kind); !slices.Equal(got, want) {
			t.Errorf("%s events for %v, want %v", kind, got, want)
		}
	}
	var returned events.PrintEvent
	for _, e := range f.ev.All() {
		if e.Kind == events.TypeReturned {
			_ = json.Unmarshal(e.Body, &returned)
		}
	}
	if returned.Reason == nil || returned.Reason.Code != "addressee-gone-away" || returned.Sequence != 3 || returned.BatchID != s.BatchID {
		t.Errorf("returned event %+v", returned)
	}
	if got := f.ret.posted[m[0].EnvelopeID]; !got.Equal(at) || len(f.ret.posted) != 1 {
		t.Errorf("retention told of %v", f.ret.posted)
	}
	o, err := ledger.NewStore(f.store).Outcome(t.Context(), s.BatchID, m[0].EnvelopeID, "posted")
	if err != nil || !o.At.Equal(at) || !o.ReportedAt.Equal(f.clock.Now()) {
		t.Errorf("stored outcome %+v, %v", o, err)
	}

	// The same report again: nothing new is stored, every event is
	// announced again (an earlier attempt may have failed to), and the
	// first report's time is kept.
	later := at.Add(time.Minute)
	status, _, body = f.client.Do("POST", path, map[string]any{"outcomes": []pull.Report{
		{Sequence: 1, EnvelopeID: m[0].EnvelopeID, Outcome: "posted", At: later}}})
	if status != http.StatusOK || !strings.Contains(string(body), `"alreadyRecorded":1`) {
		t.Errorf("repeated report: %d %s", status, body)
	}
	if n := len(f.ev.Of(events.TypePosted)); n != 2 {
		t.Errorf("%d posted events after a repeat, want 2", n)
	}
	if got := f.ret.posted[m[0].EnvelopeID]; !got.Equal(at) {
		t.Errorf("retention told of %v, want the first report's time", got)
	}
}

func TestInvalidOutcomesRecordNothing(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 2)
	path := pull.BasePath + "/batches/" + s.BatchID + "/outcomes"
	now := f.clock.Now()
	m := s.Envelopes
	bad := []pull.Report{
		{Sequence: 1, EnvelopeID: m[0].EnvelopeID, Outcome: "printed", At: now}, // fine on its own
		{Sequence: 1, EnvelopeID: m[1].EnvelopeID, Outcome: "posted", At: now},
		{Sequence: 9, EnvelopeID: m[0].EnvelopeID, Outcome: "posted", At: now},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "shredded", At: now},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "posted", At: now.Add(time.Hour)},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "posted"},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "posted", At: now, Code: "gone"},
		{Sequence: 2, EnvelopeID: m[1].EnvelopeID, Outcome: "returned", At: now, Code: "Moved to 9 Mill Lane"},
	}
	status, h, body := f.client.Do("POST", path, map[string]any{"outcomes": bad})
	var p struct {
		Problems []pull.Problem
	}
	if status != http.StatusUnprocessableEntity || h.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil {
		t.Fatalf("report: %d %s", status, body)
	}
	var got []string
	for _, x := range p.Problems {
		got = append(got, fmt.Sprintf("%d %s", x.Index, x.Field))
	}
	want := []string{"1 envelopeId", "2 sequence", "3 outcome", "4 at", "5 at", "6 code", "7 code"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	batchtest.CheckNoPersonalData(t, "the problem", string(body))
	if len(f.ev.All()) != 0 || len(f.ret.posted) != 0 {
		t.Errorf("an invalid report recorded something: %v", f.ev.All())
	}
	for _, body := range []string{`[]`, `{"outcomes":[]}`, `{"outcomes":[{"sequence":1,"name":"x"}]}`, `{"outcomes":[]}{}`} {
		req, _ := http.NewRequest("POST", f.server.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.client.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
}

func TestOutcomeNotAnnouncedIsRetried(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 1)
	path := pull.BasePath + "/batches/" + s.BatchID + "/outcomes"
	report := map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: s.Envelopes[0].EnvelopeID, Outcome: "posted", At: f.clock.Now()}}}
	f.ev.FailNext(events.TypePosted, 1)
	status, h, _ := f.client.Do("POST", path, report)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("with events down: %d %v", status, h)
	}
	status, _, body := f.client.Do("POST", path, report)
	if status != http.StatusOK || len(f.ev.Of(events.TypePosted)) != 1 {
		t.Errorf("the retry: %d %s, posted events %v", status, body, f.ev.Of(events.TypePosted))
	}
}

func TestDamagedAfterHandOverIsNotServed(t *testing.T) {
	f := newFixture(t)
	s := f.delivered(t, 1)
	if _, err := f.store.Put(t.Context(), s.Files[0].Key, []byte("not the print file")); err != nil {
		t.Fatal(err)
	}
	status, _, body := f.client.Do("GET", pull.BasePath+"/batches/"+s.BatchID+"/files/"+s.Files[0].Name, nil)
	if status != http.StatusInternalServerError || bytes.Contains(body, []byte("not the print file")) {
		t.Errorf("a damaged file: %d %s", status, body)
	}
}

func TestConfig(t *testing.T) {
	_, err := pull.New(pull.Config{Suppliers: []pull.Credentials{
		{Supplier: "North Print", TokenSHA256: []string{"qs_plain-token"}},
		{Supplier: "a"}, {Supplier: "a", TokenSHA256: []string{strings.Repeat("ab", 32)}},
	}})
	for _, want := range []string{"Store is required", "Events is required", "Retention is required",
		`name "North Print" must be`, "64 lowercase hex digits", `supplier "a" has no token`, `supplier "a" is listed twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not say %q", err, want)
		}
	}
}
