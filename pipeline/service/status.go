package service

import (
	"fmt"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/status/statusapi"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// newStatusAPI builds the status API the admin listener serves: envelope
// timelines for support tools, behind the tokens in
// Config.StatusTokensFile. refs may be nil: lookup by reference is then
// off, and says so.
func newStatusAPI(cfg Config, s storage.Store, envs *envelopes.Store, refs *refindex.Index) (*statusapi.API, error) {
	tokens, err := bearer.ReadFile(cfg.StatusTokensFile)
	if err != nil {
		return nil, fmt.Errorf("status API: %w", err)
	}
	acfg := statusapi.Config{
		Timelines: status.New(envs, ledger.NewStore(s), s),
		Store:     s, Tokens: tokens, Logger: cfg.Logger,
	}
	if refs != nil {
		// Left nil otherwise: a nil *refindex.Index in the interface would
		// answer the same, but the API says why more plainly this way.
		acfg.Index = refs
	}
	return statusapi.New(acfg)
}
