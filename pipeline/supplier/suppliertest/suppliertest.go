// Package suppliertest is the conformance suite every supplier adapter
// passes: what reaches the supplier is exactly the sealed batch, byte for
// byte, once, however often it is delivered; damaged or missing files are
// refused for good and nothing of the batch reaches the supplier; an
// ended context is a failure that may be retried.
package suppliertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/supplier"
)

// Supplier is the supplier name the suite's batches are made for.
const Supplier = "conformance"

// Harness is one adapter under test, with a view of what its supplier
// holds.
type Harness struct {
	// Store is where the suite seals batches, and where the adapter reads
	// them.
	Store storage.Store
	// Adapter is the adapter under test, made for supplier Supplier and
	// Store.
	Adapter supplier.Adapter
	// Received returns the files the supplier can see of batch id, by
	// name, and false if it cannot see the batch at all.
	Received func(t *testing.T, id string) (map[string][]byte, bool)
}

// Run runs the suite. newHarness makes a fresh harness (an empty store
// and an adapter on it) for each test.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		f    func(t *testing.T, h Harness)
	}{
		{"DeliversTheSealedBatchExactly", testDelivers},
		{"DeliveringAgainLeavesOneCopy", testAgain},
		{"BatchesStaySeparate", testSeparate},
		{"DamagedFileIsRefusedForGood", testDamaged},
		{"MissingFileIsRefusedForGood", testMissing},
		{"EndedContextMayBeRetried", testEndedContext},
		{"ErrorsHoldNoPersonalData", testErrorText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, newHarness(t)) })
	}
}

// cutOffs are the cut-offs of the suite's batches.
var cutOffs = []time.Time{
	time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC),
	time.Date(2026, 3, 3, 17, 30, 0, 0, time.UTC),
}

// seal makes a sealed batch of n envelopes at cut-off number i.
func seal(t *testing.T, h Harness, i, n int) *ledger.Sealed {
	t.Helper()
	return batchtest.Seal(t, h.Store, Supplier, cutOffs[i], n)
}

func deliver(t *testing.T, h Harness, s *ledger.Sealed) {
	t.Helper()
	if retry, err := h.Adapter.Deliver(t.Context(), s); err != nil {
		t.Fatalf("Deliver(%s) = %v (retry %v)", s.BatchID, err, retry)
	}
}

// checkReceived checks that the supplier holds exactly s's files, each
// with the content, size and SHA-256 the seal records.
func checkReceived(t *testing.T, h Harness, s *ledger.Sealed) {
	t.Helper()
	got, ok := h.Received(t, s.BatchID)
	if !ok {
		t.Fatalf("the supplier cannot see batch %s", s.BatchID)
	}
	var want []string
	for _, f := range s.Files {
		want = append(want, f.Name)
		data, ok := got[f.Name]
		if !ok {
			t.Errorf("the supplier lacks %s", f.Name)
			continue
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: the supplier has %d bytes with SHA-256 %x; the seal says %d, %s", f.Name, len(data), sum, f.Size, f.SHA256)
		}
		if stored := batchtest.ReadAll(t, h.Store, f.Key); !bytes.Equal(data, stored) {
			t.Errorf("%s differs from the stored file", f.Name)
		}
	}
	if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, slices.Sorted(slices.Values(want))) {
		t.Errorf("the supplier holds %v, want exactly %v", names, want)
	}
}

func testDelivers(t *testing.T, h Harness) {
	s := seal(t, h, 0, 3)
	if _, ok := h.Received(t, s.BatchID); ok {
		t.Fatal("the supplier sees the batch before it is delivered")
	}
	deliver(t, h, s)
	checkReceived(t, h, s)
}

func testAgain(t *testing.T, h Harness) {
	s := seal(t, h, 0, 2)
	deliver(t, h, s)
	deliver(t, h, s)
	checkReceived(t, h, s)
}

func testSeparate(t *testing.T, h Harness) {
	a, b := seal(t, h, 0, 2), seal(t, h, 1, 1)
	deliver(t, h, a)
	if _, ok := h.Received(t, b.BatchID); ok {
		t.Error("delivering one batch made another visible")
	}
	deliver(t, h, b)
	checkReceived(t, h, a)
	checkReceived(t, h, b)
}

// damage replaces the print file's content behind the seal's back: the
// store's own checksum is consistent, but the seal's is not.
func damage(t *testing.T, h Harness, s *ledger.Sealed) {
	t.Helper()
	f := s.Files[0]
	data := batchtest.ReadAll(t, h.Store, f.Key)
	data[len(data)/2] ^= 0x20
	if _, err := h.Store.Put(t.Context(), f.Key, data); err != nil {
		t.Fatal(err)
	}
}

func testDamaged(t *testing.T, h Harness) {
	s := seal(t, h, 0, 2)
	damage(t, h, s)
	retry, err := h.Adapter.Deliver(t.Context(), s)
	if err == nil || retry {
		t.Fatalf("Deliver of a damaged batch = %v, retry %v; want a failure that may not be retried", err, retry)
	}
	if got, ok := h.Received(t, s.BatchID); ok {
		t.Errorf("the supplier can see a damaged batch: %v", slices.Collect(maps.Keys(got)))
	}
}

func testMissing(t *testing.T, h Harness) {
	s := seal(t, h, 0, 2)
	if err := h.Store.Delete(t.Context(), s.Files[len(s.Files)-1].Key); err != nil {
		t.Fatal(err)
	}
	retry, err := h.Adapter.Deliver(t.Context(), s)
	if err == nil || retry {
		t.Fatalf("Deliver with a file missing = %v, retry %v; want a failure that may not be retried", err, retry)
	}
	if _, ok := h.Received(t, s.BatchID); ok {
		t.Error("the supplier can see a batch with a file missing")
	}
}

func testEndedContext(t *testing.T, h Harness) {
	s := seal(t, h, 0, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	retry, err := h.Adapter.Deliver(ctx, s)
	if err == nil || !retry || !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver with an ended context = %v, retry %v; want context.Canceled, retry true", err, retry)
	}
	if _, ok := h.Received(t, s.BatchID); ok {
		t.Error("the supplier can see a batch whose delivery was cancelled")
	}
	deliver(t, h, s) // and a later attempt succeeds
	checkReceived(t, h, s)
}

func testErrorText(t *testing.T, h Harness) {
	s := seal(t, h, 0, 1)
	damage(t, h, s)
	_, err := h.Adapter.Deliver(t.Context(), s)
	if err == nil {
		t.Fatal("no error")
	}
	batchtest.CheckNoPersonalData(t, "the error", err.Error())
}
