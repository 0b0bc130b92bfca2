package batch

import (
	"context"

	"github.com/quire-print/quire/internal/clock"
)

// RefreshHeld counts the envelopes held for an operator (ledger.Store.Holds:
// what quire envelopes held lists), sets quire_reprints_held from the count
// by code (a cancelled one under cancelled: there is nothing to decide)
// and returns it. It is one List of reprint-held/, and a few reads per
// envelope held.
func (b *Batcher) RefreshHeld(ctx context.Context) (int, error) {
	n, total := map[string]int{}, 0
	for h, err := range b.st.Holds(ctx) {
		if err != nil {
			return 0, err
		}
		n[h.Waiting()]++
		total++
	}
	b.metrics.setHeld(n)
	return total, nil
}

// WatchHeld refreshes quire_reprints_held now and then every PollInterval
// until ctx ends. It runs beside Run, not in it, because Run sleeps until
// the next cut-off when there is nothing to do, and a hold (made by the
// supplier API) or its release (by an operator's command, in another
// process) may come at any time. A failed count leaves the gauge as it was
// and is logged; the next one tries again.
func (b *Batcher) WatchHeld(ctx context.Context) {
	for {
		if _, err := b.RefreshHeld(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("batch: could not count the envelopes held for an operator; trying again", "err", err, "retry_in", b.cfg.PollInterval)
		}
		if clock.Sleep(ctx, b.clock, b.cfg.PollInterval) != nil {
			return
		}
	}
}
