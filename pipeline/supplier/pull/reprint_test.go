package pull_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/reprint"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/pipeline/supplier/pull"
	"github.com/quire-print/quire/pipeline/supplier/suppliertest"
)

// TestSpoiledAsksForOneReprint: a spoiled report asks for a reprint of the
// envelope, after announcing it spoiled; the same report again, and a
// report whose reprint could not be announced the first time, ask for no
// second one.
func TestSpoiledAsksForOneReprint(t *testing.T) {
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ev := &batchtest.Events{}
	clock := memqueue.NewManualClock(cutOff.Add(24 * time.Hour))
	rp, err := reprint.New(reprint.Config{Store: s, Events: ev, MaxAutomatic: 2, Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tok, hash := pull.NewToken()
	api, err := pull.New(pull.Config{Store: s, Events: ev, Retention: &retention{}, Reprints: rp, Clock: clock,
		Logger:    slog.New(slog.DiscardHandler),
		Suppliers: []pull.Credentials{{Supplier: suppliertest.Supplier, TokenSHA256: []string{hash}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	c := Client{t, srv.URL, tok}
	sealed := batchtest.Seal(t, s, suppliertest.Supplier, cutOff, 2)
	adapter, err := pull.NewAdapter(suppliertest.Supplier, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adapter.Deliver(t.Context(), sealed); err != nil {
		t.Fatal(err)
	}
	path := pull.BasePath + "/batches/" + sealed.BatchID + "/outcomes"
	id := sealed.Envelopes[1].EnvelopeID
	report := map[string]any{"outcomes": []pull.Report{
		{Sequence: 1, EnvelopeID: sealed.Envelopes[0].EnvelopeID, Outcome: "printed", At: clock.Now().Add(-time.Hour)},
		{Sequence: 2, EnvelopeID: id, Outcome: "spoiled", At: clock.Now().Add(-time.Hour), Code: "paper-jam"},
	}}

	// The reprint cannot be announced: the report fails, and is sent
	// again.
	ev.FailNext(events.TypeReprintRequested, 1)
	if status, _, body := c.Do("POST", path, report); status != http.StatusServiceUnavailable {
		t.Fatalf("with the reprint event unconfirmed: %d %s", status, body)
	}
	for range 2 {
		if status, _, body := c.Do("POST", path, report); status != http.StatusOK {
			t.Fatalf("report: %d %s", status, body)
		}
	}
	rs, err := ledger.NewStore(s).Reprints(t.Context(), id)
	if err != nil || len(rs) != 1 || rs[0].BatchID != sealed.BatchID || rs[0].Sequence != 2 || rs[0].Source != ledger.SourceSupplier {
		t.Fatalf("reprints %+v, %v: want one, of the spoiled print", rs, err)
	}
	if rs, _ := ledger.NewStore(s).Reprints(t.Context(), sealed.Envelopes[0].EnvelopeID); len(rs) != 0 {
		t.Errorf("a printed envelope was reprinted: %+v", rs)
	}
	var kinds []string
	for _, e := range ev.All() {
		if strings.Contains(string(e.Body), id) {
			kinds = append(kinds, e.Kind)
		}
		if e.Kind == events.TypeReprintRequested {
			var p events.PrintEvent
			if err := json.Unmarshal(e.Body, &p); err != nil || p.Reprint != 1 || p.BatchID != sealed.BatchID || p.Reason.Code != ledger.ReasonSpoiled {
				t.Errorf("reprint-requested %s (%v)", e.Body, err)
			}
		}
	}
	// Every report announces again (at least once); the spoiled event
	// always comes before the reprint's.
	want := []string{events.TypeSpoiled, events.TypeSpoiled, events.TypeReprintRequested, events.TypeSpoiled, events.TypeReprintRequested}
	if !slices.Equal(kinds, want) {
		t.Errorf("events about %s: %v, want %v", id, kinds, want)
	}
}
