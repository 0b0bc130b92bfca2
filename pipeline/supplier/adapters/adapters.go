// Package adapters builds the configured supplier adapter: one typed
// Config, one Build function, every adapter named here. There is no
// registry: adding an adapter means adding its package, a field to Config
// and a case to Build.
package adapters

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/supplier"
	"github.com/quire-print/quire/pipeline/supplier/folder"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// DefaultAdapter is Config.Adapter's default.
const DefaultAdapter = pull.Kind

// Config chooses and configures how batches reach the print supplier.
type Config struct {
	// Supplier names the supplier batches are made for (supplier.ValidName).
	// Required.
	Supplier string
	// Adapter is how batches reach it: "pull" (the supplier collects them
	// from the pull API) or "folder" (written to Folder.Dir). Default
	// "pull".
	Adapter string
	// Folder configures the folder adapter; only with Adapter "folder".
	Folder folder.Config
	// Retry is the backoff between hand-off attempts. Default: see
	// supplier.Retry.
	Retry supplier.Retry
}

// Build checks c and returns the Sender for its adapter, reading batches
// from s. Every problem with c is reported at once.
func Build(c Config, s storage.Store, clock clock.Clock, log *slog.Logger) (*supplier.Sender, error) {
	if c.Adapter == "" {
		c.Adapter = DefaultAdapter
	}
	var errs []error
	if err := supplier.ValidName(c.Supplier); err != nil {
		errs = append(errs, err)
	}
	if s == nil {
		errs = append(errs, errors.New("adapters: a store is required"))
	}
	var a supplier.Adapter
	switch c.Adapter {
	case pull.Kind:
		if c.Folder != (folder.Config{}) {
			errs = append(errs, errors.New("adapters: folder settings are given but the adapter is pull"))
		}
		if p, err := pull.NewAdapter(c.Supplier, s); err == nil {
			a = p
		}
	case folder.Kind:
		f, err := folder.New(c.Folder, s)
		if err != nil {
			errs = append(errs, err)
		}
		a = f
	default:
		errs = append(errs, fmt.Errorf("adapters: adapter %q is not one of pull, folder", c.Adapter))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return supplier.NewSender(supplier.SenderConfig{Name: c.Supplier, Kind: c.Adapter, Adapter: a, Retry: c.Retry, Clock: clock, Logger: log})
}
