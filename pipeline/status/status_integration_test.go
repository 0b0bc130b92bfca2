//go:build integration

package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

var testDelays = []time.Duration{200 * time.Millisecond, time.Second}

// published is one event upstream received for an envelope, whichever its
// shape.
type published struct {
	Type       string    `json:"type"`
	EnvelopeID string    `json:"envelopeId"`
	OccurredAt time.Time `json:"occurredAt"`
	BatchID    string    `json:"batchId"`
	Sequence   int       `json:"sequence"`
	Supplier   string    `json:"supplier"`
}

// TestTimelineMatchesThePublishedEvents runs an envelope through the real
// worker on RabbitMQ and MinIO, a cut-off, the pull adapter's hand-over
// and the supplier reporting it printed and posted, then checks that its
// timeline, built from what is stored in MinIO, has a step for every
// event upstream received (other than accepted, which is not stored), at
// the same time, in the same batch, at the same place; that its reference
// finds it; and that retention's sweep shows in it.
func TestTimelineMatchesThePublishedEvents(t *testing.T) {
	ctx := t.Context()
	s3 := s3test.Config(t)
	store := s3test.New(t, s3)
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	keyFile := filepath.Join(t.TempDir(), "reference.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("k", refindex.MinKeyLen)), 0o600); err != nil {
		t.Fatal(err)
	}
	refs, err := refindex.ReadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	r, err := service.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{AMQPURL: servicetest.AMQPURL(t), Prefix: prefix, RetryDelays: testDelays,
		S3: s3, Listen: "127.0.0.1:0", Logger: logger, ReferenceKeyFile: keyFile}, r)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopService := context.WithCancel(ctx)
	serviceDone := make(chan error)
	go func() { serviceDone <- svc.Run(runCtx) }()
	defer func() { stopService(); <-serviceDone }()

	id := "STATUS-1"
	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"env-2025-03-05-000201"`), []byte(`"`+id+`"`), 1)
	if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: id, Body: data}); err != nil {
		t.Fatal(err)
	}
	up.WaitSettled([]string{id}, time.Minute)

	// The cut-off after now, with the batcher's clock just past it; the
	// pull adapter hands the batch over.
	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sched.Next(time.Now())
	clock := memqueue.NewManualClock(c.Add(time.Second))
	evBroker, err := broker.New(broker.Config{URL: servicetest.AMQPURL(t), Prefix: prefix, RetryDelays: testDelays, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer evBroker.Close()
	keeper, err := retention.New(retention.Config{Store: store, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := adapters.Build(adapters.Config{Supplier: "northprint"}, store, clock, logger)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.New(batch.Config{Store: store, Schedule: sched, Assembler: &batchtest.Assembler{Store: store}, Supplier: sender,
		Events: evBroker.Events(), Retention: keeper, Clock: clock, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.CutOff(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Batches) != 1 || len(res.Batches[0].Envelopes) != 1 {
		t.Fatalf("cut-off: %+v", res)
	}
	batchID := res.Batches[0].BatchID
	clock.Advance(time.Minute)
	if _, err := b.HandOffPending(ctx); err != nil {
		t.Fatal(err)
	}

	// The supplier acknowledges it, and reports it printed, then posted.
	token, hash := pull.NewToken()
	api, err := pull.New(pull.Config{Store: store, Events: evBroker.Events(), Retention: keeper, Clock: clock, Logger: logger,
		Suppliers: []pull.Credentials{{Supplier: "northprint", TokenSHA256: []string{hash}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	call := func(path string, body any) {
		t.Helper()
		js, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+pull.BasePath+"/batches/"+batchID+path, bytes.NewReader(js))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if data, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, data)
		}
	}
	clock.Advance(time.Hour)
	call("/receipt", nil)
	clock.Advance(12 * time.Hour)
	call("/outcomes", map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: id, Outcome: "printed", At: clock.Now()}}})
	clock.Advance(3 * time.Hour)
	call("/outcomes", map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: id, Outcome: "posted", At: clock.Now()}}})

	want := []string{events.TypeAccepted, events.TypeRendered, events.TypeBatched, events.TypeHandedOver, events.TypePrinted, events.TypePosted}
	var got []published
	waitfor.True(t, time.Minute, "every event of the envelope", func() bool {
		up.Drain()
		got = got[:0]
		for _, r := range up.Events() {
			var p published
			if json.Unmarshal(r.Body, &p) == nil && p.EnvelopeID == id {
				got = append(got, p)
			}
		}
		var types []string
		for _, p := range got {
			types = append(types, p.Type)
		}
		return slices.Equal(types, want)
	})

	builder := status.New(envelopes.New(store), ledger.NewStore(store), store)
	tl, err := builder.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(tl, "", "  ")
	t.Logf("timeline:\n%s", js)
	batchtest.CheckNoPersonalData(t, "the timeline", string(js))
	for _, p := range got {
		if p.Type == events.TypeAccepted {
			continue // an event only: nothing stores it
		}
		step := strings.TrimPrefix(p.Type, "envelope.")
		i := slices.IndexFunc(tl.Entries, func(e status.Entry) bool { return e.Step == step })
		if i < 0 {
			t.Errorf("event %s has no step in the timeline", p.Type)
			continue
		}
		e := tl.Entries[i]
		if !e.At.Equal(p.OccurredAt) || e.BatchID != p.BatchID || e.Sequence != p.Sequence || e.Supplier != p.Supplier {
			t.Errorf("%s: timeline %+v, event %+v", step, e, p)
		}
	}
	var steps []string
	for _, e := range tl.Entries {
		steps = append(steps, e.Step)
	}
	if want := []string{"rendered", "batched", "handed-over", "received", "printed", "posted"}; !slices.Equal(steps, want) || tl.State != status.StepPosted {
		t.Errorf("steps %v, state %s; want %v, posted", steps, tl.State, want)
	}

	// Both twins' references find it; the index's keys on MinIO do not
	// name them.
	for _, ref := range []string{"BLC-2025-000201", "blc-2025-000202"} {
		if ids, err := refs.Lookup(ctx, store, ref); err != nil || !slices.Equal(ids, []string{id}) {
			t.Errorf("lookup %s: %v %v", ref, ids, err)
		}
	}
	for info, err := range store.List(ctx, refindex.Prefix) {
		if err != nil || strings.Contains(info.Key, "BLC") {
			t.Errorf("index key %s %v", info.Key, err)
		}
	}

	// Thirty days after posting, the sweep deletes the personal data, the
	// index entries with it, and the timeline says so.
	clock.Advance(31 * 24 * time.Hour)
	if _, err := keeper.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, err := refs.Lookup(ctx, store, "BLC-2025-000201"); err != nil || len(ids) != 0 {
		t.Errorf("lookup after the sweep: %v %v; want nothing", ids, err)
	}
	tl, err = builder.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if last := tl.Entries[len(tl.Entries)-1]; !tl.PersonalDataDeleted || last.Step != status.StepDataDeleted || !last.At.Equal(clock.Now()) ||
		tl.State != status.StepPosted {
		t.Errorf("after the sweep: %+v", tl)
	}
	batchtest.CheckNoPersonalData(t, "the logs", logs.String())
}
