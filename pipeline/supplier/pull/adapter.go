// Package pull is the supplier pull API: the print supplier collects its
// batches from Quire over HTTPS, instead of Quire pushing them.
//
// Handing a batch over (Adapter.Deliver) publishes it for its supplier:
// it checks the batch's files and adds it to the supplier's list of ready
// batches. The supplier then, with its own bearer token (API):
//
//	GET  /supplier/v1/batches                          batches ready for it
//	GET  /supplier/v1/batches/{batchId}                one batch and its files
//	GET  /supplier/v1/batches/{batchId}/manifest       the manifest (JSON)
//	GET  /supplier/v1/batches/{batchId}/files/{name}   a file, streamed from storage
//	POST /supplier/v1/batches/{batchId}/receipt        acknowledge receipt
//	POST /supplier/v1/batches/{batchId}/outcomes       report printed, posted, returned, spoiled
//
// api/supplier.openapi.yaml describes it; a test holds the two together.
// Tokens are stored as SHA-256 hashes and compared in constant time; an
// address that sends too many unknown tokens is refused (429) for a while
// (limit.go). A supplier sees only batches made for it: another
// supplier's batch is "not found", exactly like one that does not exist.
package pull

import (
	"context"
	"errors"
	"fmt"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/supplier"
)

// Kind is the adapter's name in configuration.
const Kind = "pull"

// ReadyPrefix is where a supplier's list of batches ready for it lives:
// ReadyPrefix + supplier + "/" + batch id. An entry is removed when the
// supplier acknowledges receipt.
const ReadyPrefix = "pull/"

// ReadyKey is the key of batch id's entry in supplier's list.
func ReadyKey(supplierName, id string) string { return ReadyPrefix + supplierName + "/" + id }

// Adapter publishes batches on the pull API. It implements
// supplier.Adapter.
type Adapter struct {
	name  string
	store storage.Store
}

// NewAdapter returns the adapter for supplier name, reading batches from
// s.
func NewAdapter(name string, s storage.Store) (*Adapter, error) {
	if err := supplier.ValidName(name); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("pull: a store is required")
	}
	return &Adapter{name: name, store: s}, nil
}

// Deliver implements supplier.Adapter: it checks that every file of b is
// stored as its seal records, then lists b for the supplier.
func (a *Adapter) Deliver(ctx context.Context, b *ledger.Sealed) (retry bool, err error) {
	if b.Supplier != a.name {
		return false, fmt.Errorf("pull: batch %s is for supplier %q, not %q", b.BatchID, b.Supplier, a.name)
	}
	for _, f := range b.Files {
		info, err := a.store.Stat(ctx, f.Key)
		if err != nil {
			return !errors.Is(err, storage.ErrNotFound), fmt.Errorf("pull: batch %s: %w", b.BatchID, err)
		}
		if info.Size != f.Size || info.SHA256 != f.SHA256 {
			return false, fmt.Errorf("pull: batch %s: %s is stored with %d bytes and SHA-256 %s; the seal says %d, %s: %w",
				b.BatchID, f.Key, info.Size, info.SHA256, f.Size, f.SHA256, storage.ErrChecksum)
		}
	}
	if _, err := a.store.Put(ctx, ReadyKey(a.name, b.BatchID), []byte(b.BatchID)); err != nil {
		return true, fmt.Errorf("pull: batch %s: %w", b.BatchID, err)
	}
	return false, nil
}
