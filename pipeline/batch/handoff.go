package batch

import (
	"context"
	"errors"
	"fmt"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/supplier"
)

// HandOffPending hands over every sealed batch waiting in the hand-off
// index, oldest first, except those whose last hand-off failed for good
// (an operator re-sends them with Resend). It returns how many are still
// waiting, and the errors of those that failed.
func (b *Batcher) HandOffPending(ctx context.Context) (waiting int, err error) {
	waiting, _, err = b.handOffPending(ctx)
	return waiting, err
}

// handOffPending is HandOffPending, and also says how many batches wait
// for an operator's re-send, so that Run keeps looking (and the gauge
// keeps up) until one is re-sent.
func (b *Batcher) handOffPending(ctx context.Context) (waiting, operator int, err error) {
	var ids []string
	for id, err := range b.st.PendingHandOffs(ctx) {
		if err != nil {
			return 0, 0, err
		}
		ids = append(ids, id)
	}
	var errs []error
	retrying := 0 // waiting, less those that have just failed for good
	for _, id := range ids {
		if _, err := b.st.HandOffFailure(ctx, id); err == nil {
			operator++
			continue // waits for an operator
		} else if !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, err)
			waiting++
			retrying++
			continue
		}
		if err := b.HandOff(ctx, id); err != nil {
			errs = append(errs, err)
			waiting++
			if errors.Is(err, supplier.ErrNotRetryable) {
				operator++
			} else {
				retrying++
			}
		}
	}
	if ctx.Err() == nil {
		b.metrics.waiting(retrying, operator)
	}
	return waiting, operator, errors.Join(errs...)
}

// HandOff hands sealed batch id to the supplier, unless it has been
// already, and announces its envelopes as handed over. Retries are the
// Supplier's, within HandOffTimeout. A hand-off that cannot succeed by
// retrying is recorded (batches/<B>/handoff-failed.json) and left for an
// operator.
func (b *Batcher) HandOff(ctx context.Context, id string) error {
	err := b.handOff(ctx, id)
	b.metrics.handOff(ctx, err)
	return err
}

func (b *Batcher) handOff(ctx context.Context, id string) error {
	if _, err := b.st.Handover(ctx, id); err == nil {
		return b.afterHandOff(ctx, id)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return b.send(ctx, id)
}

// Resend hands sealed batch id to its supplier again, whether or not it
// was handed over before: for a supplier that lost it, or after fixing
// what made a hand-off fail for good. Batches are immutable, so the
// supplier receives the same files again; the first hand-over time is
// kept, and envelopes are announced as handed over only the first time.
func (b *Batcher) Resend(ctx context.Context, id string) error {
	err := b.st.ClearHandOffFailure(ctx, id)
	if err == nil {
		err = b.send(ctx, id)
	}
	b.metrics.handOff(ctx, err)
	return err
}

func (b *Batcher) send(ctx context.Context, id string) error {
	s, err := b.st.Sealed(ctx, id)
	if err != nil {
		return err
	}
	if len(s.Envelopes) == 0 {
		return b.st.HandOffDone(ctx, id)
	}
	if s.Supplier != b.cfg.Supplier.Name() {
		err := fmt.Errorf("batch %s is for supplier %q, and this Quire hands batches to %q: %w", id, s.Supplier, b.cfg.Supplier.Name(), supplier.ErrNotRetryable)
		return b.failed(ctx, id, err)
	}
	sctx, cancel := context.WithTimeout(ctx, b.cfg.HandOffTimeout)
	defer cancel()
	if err := b.cfg.Supplier.Send(sctx, s); err != nil {
		if errors.Is(err, supplier.ErrNotRetryable) {
			return b.failed(ctx, id, err)
		}
		return fmt.Errorf("batch: handing batch %s over: %w", id, err)
	}
	h := ledger.Handover{BatchID: id, Supplier: s.Supplier, Adapter: b.cfg.Supplier.Adapter(), At: b.clock.Now().UTC()}
	first, created, err := b.st.RecordHandover(ctx, h)
	if err != nil {
		return err
	}
	if created {
		b.log.Info("batch: handed over", "batch_id", id, "supplier", s.Supplier, "adapter", h.Adapter, "envelopes", len(s.Envelopes))
	} else {
		b.log.Info("batch: handed over again", "batch_id", id, "supplier", s.Supplier, "first_at", first.At)
	}
	return b.afterHandOff(ctx, id)
}

// failed records a hand-off that retrying cannot fix.
func (b *Batcher) failed(ctx context.Context, id string, cause error) error {
	b.log.Error("batch: hand-off failed and will not be retried until an operator re-sends the batch", "batch_id", id, "err", cause)
	f := ledger.HandOffFailure{BatchID: id, At: b.clock.Now().UTC(), Error: cause.Error()}
	if err := b.st.RecordHandOffFailure(ctx, f); err != nil {
		return errors.Join(cause, err)
	}
	return fmt.Errorf("batch: handing batch %s over: %w", id, cause)
}

// afterHandOff announces the envelopes of a handed-over batch and takes it
// out of the hand-off index. Announcing is idempotent: the index entry
// goes last, so a run that stops half way announces again.
func (b *Batcher) afterHandOff(ctx context.Context, id string) error {
	if waiting, err := b.st.AwaitsHandOff(ctx, id); err != nil || !waiting {
		return err
	}
	s, err := b.st.Sealed(ctx, id)
	if err != nil {
		return err
	}
	h, err := b.st.Handover(ctx, id)
	if err != nil {
		return err
	}
	err = each(ctx, b.cfg.Parallelism, len(s.Envelopes), func(ctx context.Context, i int) error {
		m := s.Envelopes[i]
		return b.events.Publish(ctx, events.HandedOver(events.InBatch{EnvelopeID: m.EnvelopeID, BatchID: id,
			Sequence: m.Sequence, Supplier: s.Supplier, Reprint: m.Run}, h.At))
	})
	if err != nil {
		return err
	}
	if b.cfg.Retention != nil {
		if err := b.cfg.Retention.HandedOver(ctx, id, h.At); err != nil {
			return err
		}
	}
	return b.st.HandOffDone(ctx, id)
}
