package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
)

var inBatch = events.InBatch{EnvelopeID: "env-2025-03-05-000201", BatchID: "20260302T173000Z-001", Sequence: 17, Supplier: "northprint"}

// reprintRun is the same envelope printed again, in the next day's batch.
var reprintRun = events.InBatch{EnvelopeID: "env-2025-03-05-000201", BatchID: "20260303T173000Z-001", Sequence: 1, Supplier: "northprint", Reprint: 1}

// printExamples are kept in testdata/events/print-*.json, made by the code
// that publishes them.
func printExamples() map[string]events.PrintEvent {
	sealed := at.Add(10 * time.Minute)
	handed := at.Add(12 * time.Minute)
	return map[string]events.PrintEvent{
		"batched":                       events.Batched(inBatch, sealed),
		"handed-over":                   events.HandedOver(inBatch, handed),
		"printed":                       events.Outcome(events.TypePrinted, inBatch, at.Add(20*time.Hour), ""),
		"posted":                        events.Outcome(events.TypePosted, inBatch, at.Add(26*time.Hour), ""),
		"returned":                      events.Outcome(events.TypeReturned, inBatch, at.Add(9*24*time.Hour), "addressee-gone-away"),
		"spoiled":                       events.Outcome(events.TypeSpoiled, inBatch, at.Add(20*time.Hour), "paper-jam"),
		"cancel-refused":                events.CancelRefused(inBatch, sealed, handed, at.Add(3*time.Hour)),
		"cancel-refused-not-handed-on":  events.CancelRefused(inBatch, sealed, time.Time{}, sealed.Add(time.Minute)),
		"reprint-requested":             events.ReprintRequested(inBatch, 1, "spoiled", "supplier", at.Add(20*time.Hour+time.Minute)),
		"reprint-requested-by-operator": events.ReprintRequested(inBatch, 1, "lost-in-post", "operator", at.Add(8*24*time.Hour)),
		"reprint-held": events.ReprintHeld(inBatch, 3, "reprint-limit",
			"it has been reprinted automatically 2 times, the most allowed (--max-reprints); an operator decides whether to print it again (quire envelopes reprint)", at.Add(70*time.Hour)),
		"reprint-dismissed": events.ReprintDismissed(inBatch, 3, "upstream-will-resend", at.Add(72*time.Hour)),
		"batched-reprint":   events.Batched(reprintRun, at.Add(24*time.Hour+10*time.Minute)),
		"posted-reprint":    events.Outcome(events.TypePosted, reprintRun, at.Add(50*time.Hour), ""),
	}
}

func TestPrintExamplesMatchTheCodeAndTheSchema(t *testing.T) {
	s := schema(t, "envelope-print-event.v1.schema.json")
	for name, e := range printExamples() {
		t.Run(name, func(t *testing.T) { checkExample(t, s, "print-"+name+".json", e) })
	}
}

func TestCancelRefusedSaysWhereAndWhen(t *testing.T) {
	sealed := time.Date(2026, 3, 2, 17, 40, 0, 0, time.UTC)
	handed := time.Date(2026, 3, 2, 17, 41, 7, 0, time.FixedZone("BST", 3600))
	e := events.CancelRefused(inBatch, sealed, handed, handed.Add(time.Hour))
	want := "too late: in batch 20260302T173000Z-001, handed to the supplier at 2026-03-02T16:41:07Z"
	if e.Reason == nil || e.Reason.Code != events.CodeTooLate || e.Reason.Detail != want {
		t.Errorf("reason %+v, want code %s and %q", e.Reason, events.CodeTooLate, want)
	}
	e = events.CancelRefused(inBatch, sealed, time.Time{}, sealed)
	if !strings.Contains(e.Reason.Detail, "sealed for printing at 2026-03-02T17:40:00Z") {
		t.Errorf("before hand-over, detail %q does not say when the batch was sealed", e.Reason.Detail)
	}
}

func TestPrintSchemaRefusesWrongEvents(t *testing.T) {
	s := schema(t, "envelope-print-event.v1.schema.json")
	const base = `"schemaVersion":1,"envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z","batchId":"B-1","sequence":1,"supplier":"northprint"`
	bad := map[string]string{
		"refused without reason": `{"type":"envelope.cancel-refused",` + base + `}`,
		"refused, other code":    `{"type":"envelope.cancel-refused",` + base + `,"reason":{"code":"x","detail":"y"}}`,
		"posted with reason":     `{"type":"envelope.posted",` + base + `,"reason":{"code":"x"}}`,
		"returned with detail":   `{"type":"envelope.returned",` + base + `,"reason":{"code":"x","detail":"Mrs Raman moved"}}`,
		"no batch":               `{"type":"envelope.printed","schemaVersion":1,"envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z","sequence":1,"supplier":"s"}`,
		"sequence 0":             `{"type":"envelope.printed","schemaVersion":1,"envelopeId":"E-1","occurredAt":"2026-03-02T17:04:05Z","batchId":"B","sequence":0,"supplier":"s"}`,
		"an older type":          `{"type":"envelope.rendered",` + base + `}`,
		"a name":                 `{"type":"envelope.posted",` + base + `,"recipient":"Priya Raman"}`,
		"reprint 0":              `{"type":"envelope.batched",` + base + `,"reprint":0}`,
		"reprint without number": `{"type":"envelope.reprint-requested",` + base + `,"reason":{"code":"spoiled","detail":"requested by the supplier"}}`,
		"reprint free text":      `{"type":"envelope.reprint-requested",` + base + `,"reprint":1,"reason":{"code":"mum-called","detail":"x"}}`,
		"held without reason":    `{"type":"envelope.reprint-held",` + base + `,"reprint":1}`,
		"held, unknown code":     `{"type":"envelope.reprint-held",` + base + `,"reprint":1,"reason":{"code":"spoiled","detail":"x"}}`,
		"dismissed, no reason":   `{"type":"envelope.reprint-dismissed",` + base + `,"reprint":1}`,
		"dismissed, free text":   `{"type":"envelope.reprint-dismissed",` + base + `,"reprint":1,"reason":{"code":"mum-called","detail":"x"}}`,
		"dismissed, no reprint":  `{"type":"envelope.reprint-dismissed",` + base + `,"reason":{"code":"other","detail":"x"}}`,
	}
	for name, js := range bad {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(doc) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// recorder is a pipeline.Publisher that keeps what it is given, and fails
// when told to.
type recorder struct {
	keys   []string
	bodies [][]byte
	fail   error
}

func (r *recorder) Publish(ctx context.Context, key string, body []byte) error {
	if r.fail != nil {
		return r.fail
	}
	r.keys, r.bodies = append(r.keys, key), append(r.bodies, body)
	return nil
}

// Both shapes of event go out the same way: the type as routing key, the
// event as the body.
func TestPublishBothShapes(t *testing.T) {
	at := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	r := &recorder{}
	p := events.NewPublisher(r)
	in := events.InBatch{EnvelopeID: "env-1", BatchID: "20260302T173000Z-001", Sequence: 1, Supplier: "northprint"}
	for _, e := range []events.Message{events.Accepted("env-1", at), events.Batched(in, at)} {
		if err := p.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{events.TypeAccepted, events.TypeBatched}; !slices.Equal(r.keys, want) {
		t.Fatalf("routing keys %q, want %q", r.keys, want)
	}
	var batched events.PrintEvent
	if err := json.Unmarshal(r.bodies[1], &batched); err != nil || batched != events.Batched(in, at) {
		t.Errorf("batched body %s (%v), want the event", r.bodies[1], err)
	}

	r.fail = errors.New("not confirmed")
	if err := p.Publish(t.Context(), events.Batched(in, at)); !errors.Is(err, r.fail) || !strings.Contains(err.Error(), events.TypeBatched) {
		t.Errorf("Publish when not confirmed = %v, want the broker's error naming the type", err)
	}
}

// idRecorder also takes message ids, as the broker's events publisher
// does.
type idRecorder struct {
	recorder
	ids []string
}

func (r *idRecorder) PublishWithID(ctx context.Context, key, id string, body []byte) error {
	if err := r.Publish(ctx, key, body); err != nil {
		return err
	}
	r.ids = append(r.ids, id)
	return nil
}

// Every event goes out with its id as the message id.
func TestPublishSetsTheEventID(t *testing.T) {
	r := &idRecorder{}
	p := events.NewPublisher(r)
	sent := []events.Message{events.Accepted("env-1", at), events.Rendered(record()), events.HandedOver(inBatch, at)}
	for _, e := range sent {
		if err := p.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range sent {
		if i >= len(r.ids) || r.ids[i] != e.ID() || len(e.ID()) != 32 {
			t.Errorf("event %d published with ids %q, want %q (32 hex digits)", i, r.ids, e.ID())
		}
	}
}

// An event published again, however much later and from whichever
// record, has the same id; different events have different ids, the same
// event type about another envelope or batch included.
func TestEventIDs(t *testing.T) {
	later := at.Add(3 * time.Hour)
	other := inBatch
	other.BatchID = "20260303T173000Z-001"
	reason := pipeline.Reason{Code: "invalid-request", Detail: "1 problem"}
	same := [][2]events.Message{
		{events.Accepted("env-1", at), events.Accepted("env-1", later)},
		{events.Rejected("env-1", "env-1", reason, at), events.Rejected("env-1", "env-1", reason, later)},
		{events.Batched(inBatch, at), events.Batched(inBatch, later)},
		{events.HandedOver(inBatch, at), events.HandedOver(inBatch, later)},
		{events.Outcome(events.TypeReturned, inBatch, at, "addressee-gone-away"), events.Outcome(events.TypeReturned, inBatch, later, "addressee-gone-away")},
		{events.CancelRefused(inBatch, at, time.Time{}, at), events.CancelRefused(inBatch, at, later, later)},
	}
	for _, p := range same {
		if p[0].ID() != p[1].ID() {
			t.Errorf("%+v and %+v: ids %s and %s, want the same", p[0], p[1], p[0].ID(), p[1].ID())
		}
	}
	all := []events.Message{
		events.Accepted("env-1", at), events.Accepted("env-2", at), events.Rendered(record()),
		events.Cancelled(envelopes.Cancellation{EnvelopeID: "env-1", Code: "requested-by-parent", At: at}),
		events.Rejected("env-1", "env-1", reason, at), events.Rejected("env-1", "msg-2", reason, at),
		events.Rejected("env-1", "env-1", pipeline.Reason{Code: "conflict"}, at),
		events.Rejected("", "", pipeline.Reason{Code: "malformed"}, at), events.Rejected("", "", pipeline.Reason{Code: "malformed"}, later),
		events.Batched(inBatch, at), events.HandedOver(inBatch, at), events.HandedOver(other, at),
		events.Outcome(events.TypePrinted, inBatch, at, ""), events.Outcome(events.TypePosted, inBatch, at, ""),
		events.CancelRefused(inBatch, at, time.Time{}, at),
	}
	seen := map[string]int{}
	for i, e := range all {
		if j, ok := seen[e.ID()]; ok {
			t.Errorf("events %d and %d have the same id %s:\n%+v\n%+v", j, i, e.ID(), all[j], e)
		}
		seen[e.ID()] = i
	}
}
