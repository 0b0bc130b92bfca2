// Package fsstore is a storage.Store kept in a directory tree: Quire's
// embedded default, for a one-command run on one machine and for tests.
//
// Objects are plain files, so a person can open a rendered PDF from the data
// directory:
//
//	<dir>/objects/<key>   the objects, one file per key
//	<dir>/sums/<key>      a cache of each object's SHA-256 (see below)
//	<dir>/tmp/            files being written
//
// Every write goes to a temporary file in tmp/, is flushed with fsync, and
// is then renamed over the object (Put, PutStream) or hard-linked to it
// (Create): link fails if the name exists, so of many concurrent Creates
// exactly one wins, across goroutines and processes alike. The directory is
// fsynced afterwards, so a write that returned survives a power cut.
//
// The SHA-256 of each object is cached in sums/ with the identity of the
// file it was computed for (device, inode, size, modification time). The
// cache is advisory: a missing or stale entry costs one re-read of the
// object, never a wrong answer, so it is written without fsync.
//
// One difference from S3 remains: a key cannot be both an object and a
// folder of other objects ("a" and "a/b"), since a file cannot also be a
// directory. Quire's key layout never does that.
//
// A crash can leave files in tmp/; they are never read and may be deleted
// while no Quire process uses the directory.
package fsstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/internal/checksum"
)

// Store is a storage.Store in a directory. It is safe for concurrent use,
// also by several processes sharing the directory.
type Store struct {
	objects string
	sums    string
	tmp     string
	// dirs orders, within this process, making a directory and putting a
	// file in it (shared) against pruning empty directories (exclusive),
	// so a Delete never removes the directory a Put has just made. Other
	// processes sharing the directory are covered by place's retries.
	dirs sync.RWMutex
}

var _ storage.Store = (*Store)(nil)

// New opens the store in dir, creating dir and its layout if needed. The
// directories are made readable by their owner only: objects hold personal
// data.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("fsstore: directory cannot be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fsstore: %w", err)
	}
	s := &Store{
		objects: filepath.Join(abs, "objects"),
		sums:    filepath.Join(abs, "sums"),
		tmp:     filepath.Join(abs, "tmp"),
	}
	for _, d := range []string{s.objects, s.sums, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("fsstore: %w", err)
		}
	}
	return s, nil
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, data []byte) (storage.Info, error) {
	info, err := s.write(ctx, key, bytes.NewReader(data), int64(len(data)), checksum.Sum(data), false)
	return info, wrap("put", key, err)
}

// Create implements storage.Store.
func (s *Store) Create(ctx context.Context, key string, data []byte) (storage.Info, error) {
	info, err := s.write(ctx, key, bytes.NewReader(data), int64(len(data)), checksum.Sum(data), true)
	return info, wrap("create", key, err)
}

// PutStream implements storage.Store.
func (s *Store) PutStream(ctx context.Context, key string, r io.Reader, size int64, sha256 string) (storage.Info, error) {
	if err := checksum.Valid(sha256); err != nil {
		return storage.Info{}, wrap("put", key, err)
	}
	if size < 0 {
		return storage.Info{}, wrap("put", key, fmt.Errorf("size %d is negative", size))
	}
	info, err := s.write(ctx, key, r, size, sha256, false)
	return info, wrap("put", key, err)
}

// write stores size bytes of r, which must hash to sum, at key: a temporary
// file is written and synced, then renamed over the object or, when create
// is set, linked to it so that an existing object is never replaced.
func (s *Store) write(ctx context.Context, key string, r io.Reader, size int64, sum string, create bool) (storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	f, err := os.CreateTemp(s.tmp, "write-*")
	if err != nil {
		return storage.Info{}, err
	}
	tmp := f.Name()
	// The temporary name goes away in every case: renamed, or removed after
	// linking, or removed on failure.
	defer os.Remove(tmp)
	fi, err := fill(ctx, f, r, size, sum)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return storage.Info{}, err
	}
	// The last moment to give up: after this the write has happened.
	if err := ctx.Err(); err != nil {
		return storage.Info{}, err
	}
	final := s.objectPath(key)
	if create {
		err = s.place(final, func() error { return os.Link(tmp, final) })
		if errors.Is(err, fs.ErrExist) {
			if st, serr := os.Lstat(final); serr == nil && st.IsDir() {
				return storage.Info{}, errFolder
			}
			return storage.Info{}, storage.ErrExists
		}
	} else {
		err = s.place(final, func() error { return os.Rename(tmp, final) })
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, fs.ErrExist) {
			return storage.Info{}, errFolder
		}
	}
	if err != nil {
		return storage.Info{}, err
	}
	if err := syncDir(filepath.Dir(final)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// (A directory that has gone was emptied by a concurrent Delete of
		// this key: the write happened and was then deleted.)
		return storage.Info{}, err
	}
	s.remember(key, fi, sum)
	return storage.Info{Key: key, Size: size, SHA256: sum, Modified: fi.ModTime()}, nil
}

// errFolder: a file system cannot hold "a" and "a/b" both, unlike S3.
var errFolder = errors.New("a key cannot be both an object and a folder of other objects in this store")

// fill copies size bytes of r, checked against sum, into f and syncs it,
// returning f's final FileInfo.
func fill(ctx context.Context, f *os.File, r io.Reader, size int64, sum string) (fs.FileInfo, error) {
	cr := checksum.NewReader(ctxReader{ctx, r}, size, sum)
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(onlyWriter{f}, cr, buf); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return f.Stat()
}

// place runs op, which puts a file at path, after creating path's directory.
// A Delete in another process may remove that directory, once empty,
// between the two steps, so op is retried when the directory has gone.
func (s *Store) place(path string, op func() error) error {
	s.dirs.RLock()
	defer s.dirs.RUnlock()
	var err error
	for range 100 {
		if err = s.mkdirs(filepath.Dir(path)); err == nil {
			err = op()
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// mkdirs creates dir and any missing parents below the store's top
// directories, syncing the parent of each one it creates so that the new
// entries are durable.
func (s *Store) mkdirs(dir string) error {
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return errFolder
		}
		return nil
	}
	if errors.Is(err, syscall.ENOTDIR) {
		return errFolder
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made by a concurrent writer
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return errFolder
		}
		return err
	}
	return syncDir(parent)
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	rc, info, err := s.open(ctx, key)
	if err != nil {
		return nil, wrap("get", key, err)
	}
	defer rc.Close()
	data := make([]byte, info.Size)
	if _, err := io.ReadFull(rc, data); err != nil {
		return nil, wrap("get", key, err)
	}
	// ReadFull stops at the last byte, which is where the checksum reader
	// compares; an empty object is compared at its first (EOF) read.
	if info.Size == 0 {
		if _, err := rc.Read(nil); err != io.EOF {
			return nil, wrap("get", key, err)
		}
	}
	return data, nil
}

// Open implements storage.Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, storage.Info, error) {
	rc, info, err := s.open(ctx, key)
	return rc, info, wrap("open", key, err)
}

func (s *Store) open(ctx context.Context, key string) (io.ReadCloser, storage.Info, error) {
	f, info, err := s.openFile(ctx, key)
	if err != nil {
		return nil, storage.Info{}, err
	}
	return readCloser{checksum.NewReader(f, info.Size, info.SHA256), f}, info, nil
}

// GetRange implements storage.Store.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	data, err := s.getRange(ctx, key, offset, length)
	return data, wrap("get", key, err)
}

func (s *Store) getRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if err := storage.ValidKey(key); err != nil {
		return nil, err
	}
	if offset < 0 || length < 1 {
		return nil, fmt.Errorf("range of %d bytes at %d: the length must be at least 1 and the offset at least 0", length, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Not openFile: the range is the caller's to check, so the file is not
	// hashed.
	f, err := os.Open(s.objectPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, storage.ErrNotFound
		}
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, storage.ErrNotFound // a folder of other keys
	}
	data := make([]byte, length)
	if _, err := f.ReadAt(data, offset); errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the object ends before byte %d", storage.ErrChecksum, offset+length)
	} else if err != nil {
		return nil, err
	}
	return data, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.Info, error) {
	f, info, err := s.openFile(ctx, key)
	if err != nil {
		return storage.Info{}, wrap("stat", key, err)
	}
	f.Close()
	return info, nil
}

// openFile opens the object at key and describes it, taking its SHA-256
// from the cache or, when the cache does not describe this very file, by
// reading it. The file is positioned at its start.
func (s *Store) openFile(ctx context.Context, key string) (*os.File, storage.Info, error) {
	if err := storage.ValidKey(key); err != nil {
		return nil, storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.Info{}, err
	}
	f, err := os.Open(s.objectPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, storage.Info{}, storage.ErrNotFound
		}
		return nil, storage.Info{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, storage.Info{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, storage.Info{}, storage.ErrNotFound // a folder of other keys
	}
	sum, ok := s.recall(key, fi)
	if !ok {
		if sum, err = hashFile(ctx, f); err != nil {
			f.Close()
			return nil, storage.Info{}, err
		}
		s.remember(key, fi, sum)
	}
	return f, storage.Info{Key: key, Size: fi.Size(), SHA256: sum, Modified: fi.ModTime()}, nil
}

// hashFile returns the SHA-256 of f's content and rewinds it.
func hashFile(ctx context.Context, f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, 256<<10)); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// List implements storage.Store. Keys come in S3's order (by bytes, so
// "a-c" before "a/b"): each directory is read whole, sorted with
// subdirectories ordered as their name followed by '/', and walked
// depth-first. Memory is bounded by the largest directory.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.Info, error] {
	return func(yield func(storage.Info, error) bool) {
		if err := storage.ValidPrefix(prefix); err != nil {
			yield(storage.Info{}, wrap("list", prefix, err))
			return
		}
		// Start in the deepest directory the prefix names in full.
		start := ""
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			start = prefix[:i+1]
		}
		err := s.walk(ctx, start, prefix, yield)
		if err != nil && err != errStop {
			yield(storage.Info{}, wrap("list", prefix, err))
		}
	}
}

var errStop = errors.New("stop")

// walk yields the objects under the directory named by rel (empty or ending
// in '/') whose keys start with prefix.
func (s *Store) walk(ctx context.Context, rel, prefix string, yield func(storage.Info, error) bool) error {
	entries, err := os.ReadDir(filepath.Join(s.objects, filepath.FromSlash(rel)))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil // removed meanwhile, or never there
		}
		return err
	}
	sortKey := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(sortKey(a), sortKey(b)) })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := rel + sortKey(e)
		if e.IsDir() {
			if strings.HasPrefix(key, prefix) || strings.HasPrefix(prefix, key) {
				if err := s.walk(ctx, key, prefix, yield); err != nil {
					return err
				}
			}
			continue
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the directory was read
		}
		if err != nil {
			return err
		}
		if !yield(storage.Info{Key: key, Size: fi.Size(), Modified: fi.ModTime()}, nil) {
			return errStop
		}
	}
	return nil
}

// Delete implements storage.Store. Directories left empty are removed, so
// that deleted envelopes leave nothing to walk past.
func (s *Store) Delete(ctx context.Context, key string) error {
	return wrap("delete", key, s.delete(ctx, key))
}

func (s *Store) delete(ctx context.Context, key string) error {
	if err := storage.ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	path := s.objectPath(key)
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return nil // a folder of other keys, not an object
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // (gone: pruned by a concurrent Delete)
	}
	os.Remove(s.sumPath(key))
	s.dirs.Lock()
	defer s.dirs.Unlock()
	pruneEmpty(s.objects, filepath.Dir(path))
	pruneEmpty(s.sums, filepath.Dir(s.sumPath(key)))
	return nil
}

// pruneEmpty removes dir and its parents below top while they are empty.
// Removing a non-empty directory fails, which is what stops it, so a
// concurrent writer's new file is never lost: at worst its directory goes
// and the writer makes it again (see place).
func pruneEmpty(top, dir string) {
	for dir != top && strings.HasPrefix(dir, top) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Ping implements storage.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fsstore: ping: %w", err)
	}
	for _, d := range []string{s.objects, s.tmp} {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("fsstore: ping: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("fsstore: ping: %s is not a directory", d)
		}
	}
	return nil
}

func (s *Store) objectPath(key string) string {
	return filepath.Join(s.objects, filepath.FromSlash(key))
}

func (s *Store) sumPath(key string) string {
	return filepath.Join(s.sums, filepath.FromSlash(key))
}

// remember caches sum for the file fi describes. Failures are ignored: the
// cache is advisory (see the package comment).
func (s *Store) remember(key string, fi fs.FileInfo, sum string) {
	path := s.sumPath(key)
	s.dirs.RLock()
	defer s.dirs.RUnlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(s.tmp, "sum-*")
	if err != nil {
		return
	}
	_, err = f.WriteString(identity(fi) + " " + sum + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// recall returns the cached SHA-256 of the file fi describes, if the cache
// holds one for that very file.
func (s *Store) recall(key string, fi fs.FileInfo) (string, bool) {
	b, err := os.ReadFile(s.sumPath(key))
	if err != nil {
		return "", false
	}
	id, sum, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), " ")
	if !ok || id != identity(fi) || checksum.Valid(sum) != nil {
		return "", false
	}
	return sum, true
}

// identity distinguishes one version of an object's file from another.
func identity(fi fs.FileInfo) string {
	return fileID(fi) + "/" + strconv.FormatInt(fi.Size(), 10) + "/" + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// wrap names the operation and key in err, keeping sentinel errors
// reachable with errors.Is.
func wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("fsstore: %s %q: %w", op, key, err)
}

// ctxReader stops a copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// onlyWriter hides *os.File's ReadFrom, so that io.CopyBuffer uses our
// buffer and reads through the checksum reader in chunks of its size.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type readCloser struct {
	io.Reader
	io.Closer
}
