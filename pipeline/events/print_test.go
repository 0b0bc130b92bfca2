package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quire-print/quire/pipeline/events"
)

var inBatch = events.InBatch{EnvelopeID: "env-2025-03-05-000201", BatchID: "20260302T173000Z-001", Sequence: 17, Supplier: "northprint"}

// printExamples are kept in testdata/events/print-*.json, made by the code
// that publishes them.
func printExamples() map[string]events.PrintEvent {
	sealed := at.Add(10 * time.Minute)
	handed := at.Add(12 * time.Minute)
	return map[string]events.PrintEvent{
		"batched":                      events.Batched(inBatch, sealed),
		"handed-over":                  events.HandedOver(inBatch, handed),
		"printed":                      events.Outcome(events.TypePrinted, inBatch, at.Add(20*time.Hour), ""),
		"posted":                       events.Outcome(events.TypePosted, inBatch, at.Add(26*time.Hour), ""),
		"returned":                     events.Outcome(events.TypeReturned, inBatch, at.Add(9*24*time.Hour), "addressee-gone-away"),
		"spoiled":                      events.Outcome(events.TypeSpoiled, inBatch, at.Add(20*time.Hour), "paper-jam"),
		"cancel-refused":               events.CancelRefused(inBatch, sealed, handed, at.Add(3*time.Hour)),
		"cancel-refused-not-handed-on": events.CancelRefused(inBatch, sealed, time.Time{}, sealed.Add(time.Minute)),
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
