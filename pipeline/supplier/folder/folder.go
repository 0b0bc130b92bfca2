// Package folder hands batches over by writing them to a directory: each
// batch becomes <Dir>/<batch id>/ holding its print files and manifests.
// For tests, and for small sites whose supplier collects from a shared or
// synchronised folder (SFTP, a mounted share).
//
// A batch appears whole or not at all: its files are written into a
// hidden directory next to the target (".quire-<batch id>-…"), each
// checked against the SHA-256 its seal records and synced, and the
// directory is then renamed into place. The supplier must ignore names
// starting with ".". Delivering a batch that is already there checks the
// files there against the seal and leaves them alone.
package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/storage"
)

// Kind is the adapter's name in configuration.
const Kind = "folder"

// Defaults for Config's zero values.
const (
	DefaultDirMode  fs.FileMode = 0o750
	DefaultFileMode fs.FileMode = 0o640
)

// Config configures the folder adapter.
type Config struct {
	// Dir is the directory batches are written to. Required; it must
	// exist.
	Dir string
	// DirMode is the permission of each batch's directory. Default 0750.
	DirMode fs.FileMode
	// FileMode is the permission of each file. Default 0640. Files hold
	// personal data: grant the supplier's account, and nobody else.
	FileMode fs.FileMode
}

// Validate reports every problem with c.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("folder: Dir is required"))
	} else if fi, err := os.Stat(c.Dir); err != nil || !fi.IsDir() {
		errs = append(errs, fmt.Errorf("folder: Dir %q must be an existing directory", c.Dir))
	}
	if c.DirMode&^fs.ModePerm != 0 || c.FileMode&^fs.ModePerm != 0 {
		errs = append(errs, fmt.Errorf("folder: DirMode (%v) and FileMode (%v) must be permission bits only", c.DirMode, c.FileMode))
	}
	if c.FileMode&0o007 != 0 {
		errs = append(errs, fmt.Errorf("folder: FileMode %v lets every user read files holding personal data", c.FileMode))
	}
	return errors.Join(errs...)
}

// Adapter writes batches to a directory. It implements supplier.Adapter.
type Adapter struct {
	cfg   Config
	store storage.Store
}

// New checks c and returns an adapter reading batch files from s.
func New(c Config, s storage.Store) (*Adapter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.DirMode == 0 {
		c.DirMode = DefaultDirMode
	}
	if c.FileMode == 0 {
		c.FileMode = DefaultFileMode
	}
	return &Adapter{cfg: c, store: s}, nil
}

// Dir is the directory of batch id.
func (a *Adapter) Dir(id string) string { return filepath.Join(a.cfg.Dir, id) }

// Deliver implements supplier.Adapter.
func (a *Adapter) Deliver(ctx context.Context, b *ledger.Sealed) (retry bool, err error) {
	if err := ledger.ValidID(b.BatchID); err != nil {
		return false, err
	}
	final := a.Dir(b.BatchID)
	if _, err := os.Stat(final); err == nil {
		return a.check(final, b)
	}
	tmp, err := os.MkdirTemp(a.cfg.Dir, ".quire-"+b.BatchID+"-")
	if err != nil {
		return retryable(err), fmt.Errorf("folder: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	for _, f := range b.Files {
		if retry, err := a.copy(ctx, f, filepath.Join(tmp, f.Name)); err != nil {
			return retry, err
		}
	}
	if err := os.Chmod(tmp, a.cfg.DirMode); err != nil {
		return retryable(err), fmt.Errorf("folder: %w", err)
	}
	if err := syncPath(tmp); err != nil {
		return true, fmt.Errorf("folder: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return true, fmt.Errorf("folder: batch %s: %w", b.BatchID, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(final); statErr == nil {
			return a.check(final, b) // delivered by someone else meanwhile
		}
		return retryable(err), fmt.Errorf("folder: %w", err)
	}
	if err := syncPath(a.cfg.Dir); err != nil {
		return true, fmt.Errorf("folder: %w", err)
	}
	return false, nil
}

// copy streams one batch file from the store to path, checking it against
// the seal.
func (a *Adapter) copy(ctx context.Context, f ledger.File, path string) (retry bool, err error) {
	if strings.ContainsAny(f.Name, `/\`) || f.Name == "" || f.Name[0] == '.' {
		return false, fmt.Errorf("folder: file name %q cannot be written safely", f.Name)
	}
	r, _, err := a.store.Open(ctx, f.Key)
	if err != nil {
		return storeRetry(err), fmt.Errorf("folder: %w", err)
	}
	defer r.Close()
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, a.cfg.FileMode)
	if err != nil {
		return retryable(err), fmt.Errorf("folder: %w", err)
	}
	defer w.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return storeRetry(err), fmt.Errorf("folder: copying %s: %w", f.Key, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || sum != f.SHA256 {
		return false, fmt.Errorf("folder: %s holds %d bytes with SHA-256 %s; the batch's seal says %d, %s: %w",
			f.Key, n, sum, f.Size, f.SHA256, storage.ErrChecksum)
	}
	if err := w.Sync(); err != nil {
		return true, fmt.Errorf("folder: %w", err)
	}
	return false, w.Close()
}

// check compares a batch directory already in place with the seal.
func (a *Adapter) check(dir string, b *ledger.Sealed) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return retryable(err), fmt.Errorf("folder: %w", err)
	}
	if len(entries) != len(b.Files) {
		return false, fmt.Errorf("folder: %s holds %d files; batch %s has %d", dir, len(entries), b.BatchID, len(b.Files))
	}
	for _, f := range b.Files {
		sum, n, err := hashFile(filepath.Join(dir, f.Name))
		if err != nil {
			return false, fmt.Errorf("folder: %s is already delivered but differs: %w", b.BatchID, err)
		}
		if sum != f.SHA256 || n != f.Size {
			return false, fmt.Errorf("folder: %s is already delivered but %s differs from the seal", b.BatchID, f.Name)
		}
	}
	return false, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func syncPath(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// retryable says whether a filesystem error may pass: not a permission
// problem, which needs a person.
func retryable(err error) bool { return !errors.Is(err, fs.ErrPermission) }

// storeRetry says whether a storage error may pass: not damaged or
// missing content.
func storeRetry(err error) bool {
	return !errors.Is(err, storage.ErrChecksum) && !errors.Is(err, storage.ErrNotFound)
}
