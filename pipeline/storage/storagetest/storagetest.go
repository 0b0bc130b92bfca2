// Package storagetest is the conformance suite every storage.Store passes,
// so that the pipeline, the batcher and the supplier API can rely on the
// same behaviour from the filesystem store and from S3.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quire-print/quire/pipeline/storage"
)

// Sizes used by the suite.
const (
	// ListKeys is how many keys the paging test writes: more than the 1000
	// an S3 listing page holds.
	ListKeys = 1100
	// StreamSize is the size of the streamed object: larger than two S3
	// parts, so an upload that held it in memory would show.
	StreamSize = 40 << 20
	// MaxStreamAlloc bounds what a store may allocate while streaming
	// StreamSize bytes in and out: one 16 MiB S3 part (minio-go's buffer)
	// and 8 MiB for the rest, well under the object's size, so a store that
	// held the object even once would fail.
	MaxStreamAlloc = 24 << 20
)

// Run runs the suite. newStore must return an empty store of its own (its
// own directory, bucket or key prefix) each time it is called, and clean it
// up with t.Cleanup. Most subtests run in parallel; the streaming test runs
// alone so that its memory measurement sees only itself.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Streaming", func(t *testing.T) { testStreaming(t, newStore(t)) })

	parallel := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"InvalidKeys", testInvalidKeys},
		{"Overwrite", testOverwrite},
		{"CreateOnlyOnce", testCreateOnlyOnce},
		{"CreateRace", testCreateRace},
		{"PutRace", testPutRace},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"ChecksumMismatch", testChecksumMismatch},
		{"GetRange", testGetRange},
		{"Delete", testDelete},
		{"ContextCancelled", testContextCancelled},
		{"CancelMidStream", testCancelMidStream},
		{"Ping", testPing},
	}
	for _, tc := range parallel {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustPut(t *testing.T, s storage.Store, key string, data []byte) storage.Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, data)
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func mustGet(t *testing.T, s storage.Store, key string) []byte {
	t.Helper()
	b, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b
}

func checkInfo(t *testing.T, what string, got storage.Info, key string, data []byte) {
	t.Helper()
	if got.Key != key || got.Size != int64(len(data)) || got.SHA256 != sum(data) || got.Modified.IsZero() {
		t.Errorf("%s = %+v, want key %q, size %d, SHA-256 %s and a modified time", what, got, key, len(data), sum(data))
	}
}

func checkNotFound(t *testing.T, s storage.Store, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
}

func testRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	cases := map[string][]byte{
		"rt/plain.pdf":           []byte("%PDF-1.7 not really"),
		"rt/empty":               {},
		"rt/binary":              {0, 1, 2, 0xff, 0xfe, 0, '\n', '\r'},
		"rt/café ☕/with space.x": []byte("unicode key"),
	}
	for key, data := range cases {
		info := mustPut(t, s, key, data)
		checkInfo(t, "Put("+key+")", info, key, data)

		if got := mustGet(t, s, key); !bytes.Equal(got, data) {
			t.Errorf("Get(%q) = %q, want %q", key, got, data)
		}
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		checkInfo(t, "Stat("+key+")", st, key, data)

		rc, oinfo, err := s.Open(ctx, key)
		if err != nil {
			t.Fatalf("Open(%q): %v", key, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("Open(%q) read %q, %v; want %q", key, got, err, data)
		}
		checkInfo(t, "Open("+key+")", oinfo, key, data)
	}

	data := []byte("created")
	info, err := s.Create(ctx, "rt/created", data)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	checkInfo(t, "Create", info, "rt/created", data)

	info, err = s.PutStream(ctx, "rt/streamed", onlyReader{bytes.NewReader(data)}, int64(len(data)), sum(data))
	if err != nil {
		t.Fatalf("PutStream: %v", err)
	}
	checkInfo(t, "PutStream", info, "rt/streamed", data)
	if got := mustGet(t, s, "rt/streamed"); !bytes.Equal(got, data) {
		t.Errorf("Get after PutStream = %q, want %q", got, data)
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "nf/present", []byte("x"))
	for _, key := range []string{"nf/absent", "nf", "nf/present/below"} {
		if _, err := s.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
		if rc, _, err := s.Open(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
		checkNotFound(t, s, key)
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	// The error names the key, for whoever reads the log.
	if _, err := s.Get(ctx, "nf/absent"); err == nil || !strings.Contains(err.Error(), "nf/absent") {
		t.Errorf("Get error %v does not name the key", err)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	bad := []string{"", "/abs", "trail/", "dou//ble", "a/./b", "a/../b", "..", "back\\slash", "nul\x00", "tab\tkey", "\xff", strings.Repeat("k", storage.MaxSegmentLen+1), longKey(storage.MaxKeyLen + 1)}
	for _, key := range bad {
		if _, err := s.Put(ctx, key, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Create(ctx, key, []byte("x")); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Create(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.PutStream(ctx, key, strings.NewReader("x"), 1, sum([]byte("x"))); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("PutStream(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, prefix := range []string{"/abs", "a//", "../", "a/../b"} {
		for _, err := range s.List(ctx, prefix) {
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("List(%q) yielded %v, want ErrInvalidKey", prefix, err)
			}
		}
	}
	mustPut(t, s, longKey(storage.MaxKeyLen), []byte("longest key"))
	mustPut(t, s, "long/"+strings.Repeat("s", storage.MaxSegmentLen), []byte("longest segment"))
}

// longKey returns a key of n bytes made of segments as long as allowed.
func longKey(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		rem := n - b.Len()
		l := min(storage.MaxSegmentLen, rem)
		if rem-l == 1 {
			l-- // leave room for "/k", not a bare trailing "/"
		}
		b.WriteString(strings.Repeat("k", l))
	}
	return b.String()
}

func testOverwrite(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "ow/k", []byte("first version"))
	second := []byte("second, longer version")
	info := mustPut(t, s, "ow/k", second)
	checkInfo(t, "second Put", info, "ow/k", second)
	if got := mustGet(t, s, "ow/k"); !bytes.Equal(got, second) {
		t.Errorf("Get = %q, want %q", got, second)
	}
	st, err := s.Stat(ctx, "ow/k")
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, "Stat", st, "ow/k", second)

	third := []byte("3")
	if _, err := s.PutStream(ctx, "ow/k", strings.NewReader("3"), 1, sum(third)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "ow/k"); !bytes.Equal(got, third) {
		t.Errorf("Get after PutStream = %q, want %q", got, third)
	}
}

func testCreateOnlyOnce(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if _, err := s.Create(ctx, "once/k", []byte("winner")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "once/k", []byte("loser")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("second Create = %v, want ErrExists", err)
	}
	if got := mustGet(t, s, "once/k"); string(got) != "winner" {
		t.Errorf("Get = %q, want the first Create's content", got)
	}

	mustPut(t, s, "once/put", []byte("put first"))
	if _, err := s.Create(ctx, "once/put", []byte("create")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("Create over Put = %v, want ErrExists", err)
	}
	// Put is unconditional, even over a Created object.
	mustPut(t, s, "once/k", []byte("replaced"))
	if got := mustGet(t, s, "once/k"); string(got) != "replaced" {
		t.Errorf("Get = %q after Put over a Created object", got)
	}
	// A deleted key can be created again.
	if err := s.Delete(ctx, "once/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "once/k", []byte("again")); err != nil {
		t.Errorf("Create after Delete = %v", err)
	}
}

// testCreateRace is the property idempotency rests on: of N concurrent
// Creates of one key, exactly one wins and its content is what is stored.
func testCreateRace(t *testing.T, s storage.Store) {
	const n = 16
	for round := range 3 {
		key := fmt.Sprintf("race/%d/record.json", round)
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = s.Create(t.Context(), key, fmt.Appendf(nil, "writer %d", i))
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both created %q", round, winner, i, key)
			case err == nil:
				winner = i
			case !errors.Is(err, storage.ErrExists):
				t.Errorf("round %d: writer %d: %v, want ErrExists", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created %q", round, key)
		}
		if got, want := string(mustGet(t, s, key)), fmt.Sprintf("writer %d", winner); got != want {
			t.Errorf("round %d: stored %q, want the winner's %q", round, got, want)
		}
	}
}

// testPutRace checks that concurrent overwrites are atomic: the object ends
// up as exactly one writer's content, and Stat describes that content.
func testPutRace(t *testing.T, s storage.Store) {
	const n = 8
	contents := make([][]byte, n)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte{byte('a' + i)}, 1000+i*7)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if _, err := s.Put(t.Context(), "putrace/k", contents[i]); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	got := mustGet(t, s, "putrace/k")
	if !slices.ContainsFunc(contents, func(c []byte) bool { return bytes.Equal(c, got) }) {
		t.Fatalf("stored content (%d bytes) is no single writer's", len(got))
	}
	st, err := s.Stat(t.Context(), "putrace/k")
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, "Stat", st, "putrace/k", got)
}

func testList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	// Byte order puts "a-c" (0x2d) and "a.b" (0x2e) before "a/b" (0x2f),
	// and "a/b" before "a0" (0x30): a store that walks folders first would
	// get this wrong.
	keys := []string{"l/a/b", "l/a-c", "l/a.b", "l/a0", "l/a/c/d", "l/b", "l/bb", "l2/x", "m"}
	data := map[string][]byte{}
	for i, k := range keys {
		data[k] = bytes.Repeat([]byte("x"), i+1)
		mustPut(t, s, k, data[k])
	}
	list := func(prefix string) []string {
		t.Helper()
		var got []string
		for info, err := range s.List(ctx, prefix) {
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			if info.Size != int64(len(data[info.Key])) || info.Modified.IsZero() || info.SHA256 != "" {
				t.Errorf("List(%q) gave %+v, want size %d, a modified time and no SHA-256", prefix, info, len(data[info.Key]))
			}
			got = append(got, info.Key)
		}
		return got
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"l/", []string{"l/a-c", "l/a.b", "l/a/b", "l/a/c/d", "l/a0", "l/b", "l/bb"}},
		{"l/a", []string{"l/a-c", "l/a.b", "l/a/b", "l/a/c/d", "l/a0"}},
		{"l/a/", []string{"l/a/b", "l/a/c/d"}},
		{"l/b", []string{"l/b", "l/bb"}},
		{"l", []string{"l/a-c", "l/a.b", "l/a/b", "l/a/c/d", "l/a0", "l/b", "l/bb", "l2/x"}},
		{"", []string{"l/a-c", "l/a.b", "l/a/b", "l/a/c/d", "l/a0", "l/b", "l/bb", "l2/x", "m"}},
		{"l/a/b", []string{"l/a/b"}},
		{"nothing/", nil},
		{"l/zz", nil},
	} {
		if got := list(tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

func testListPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	keys := make([]string, ListKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("page/%05d", i)
	}
	outside := []string{"page-before", "pagf/after", "pag"}
	// Written by a few workers, so that the test stays quick on a real
	// server and on a disk that syncs.
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if _, err := s.Put(ctx, k, []byte(k)); err != nil {
					t.Errorf("Put(%q): %v", k, err)
				}
			}
		})
	}
	for _, k := range append(slices.Clone(keys), outside...) {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var got []string
	for info, err := range s.List(ctx, "page/") {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		got = append(got, info.Key)
	}
	if !slices.Equal(got, keys) {
		t.Errorf("List(page/) gave %d keys, want %d in order (first %q, last %q)", len(got), len(keys), first(got), last(got))
	}

	// Stopping early is allowed, and listing again starts afresh.
	for range 3 {
		n := 0
		for info, err := range s.List(ctx, "page/") {
			if err != nil {
				t.Fatal(err)
			}
			if info.Key != keys[n] {
				t.Fatalf("entry %d = %q, want %q", n, info.Key, keys[n])
			}
			n++
			if n == 5 {
				break
			}
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// testStreaming writes and reads back StreamSize bytes without the test or
// the store holding them in memory.
func testStreaming(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const seed = 42
	want := hashOf(t, pseudoRandom(seed, StreamSize))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	info, err := s.PutStream(ctx, "big/batch.pdf", pseudoRandom(seed, StreamSize), StreamSize, want)
	if err != nil {
		t.Fatalf("PutStream: %v", err)
	}
	rc, oinfo, err := s.Open(ctx, "big/batch.pdf")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got := hashOf(t, rc)
	rc.Close()

	runtime.ReadMemStats(&after)
	if info.Size != StreamSize || info.SHA256 != want {
		t.Errorf("PutStream info = %+v, want size %d SHA-256 %s", info, StreamSize, want)
	}
	if oinfo.Size != StreamSize || oinfo.SHA256 != want {
		t.Errorf("Open info = %+v, want size %d SHA-256 %s", oinfo, StreamSize, want)
	}
	if got != want {
		t.Errorf("read back SHA-256 %s, want %s", got, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("streaming %d MiB in and out allocated %.1f MiB", StreamSize>>20, float64(alloc)/(1<<20))
	if alloc > MaxStreamAlloc {
		t.Errorf("streaming %d MiB allocated %d MiB, want at most %d MiB", StreamSize>>20, alloc>>20, MaxStreamAlloc>>20)
	}
}

// pseudoRandom yields n reproducible bytes, hiding every interface but
// io.Reader so that stores cannot take shortcuts the real caller's reader
// would not offer.
func pseudoRandom(seed uint64, n int64) io.Reader {
	var s [32]byte
	s[0] = byte(seed)
	return onlyReader{io.LimitReader(rand.NewChaCha8(s), n)}
}

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func hashOf(t *testing.T, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, 64<<10)); err != nil {
		t.Fatalf("reading: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func testChecksumMismatch(t *testing.T, s storage.Store) {
	ctx := t.Context()
	data := []byte("the content as sent")
	wrong := sum([]byte("what the sender meant"))

	if _, err := s.PutStream(ctx, "cs/new", bytes.NewReader(data), int64(len(data)), wrong); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("PutStream with a wrong SHA-256 = %v, want ErrChecksum", err)
	}
	checkNotFound(t, s, "cs/new")

	// A refused write leaves the previous object as it was.
	mustPut(t, s, "cs/old", []byte("previous"))
	if _, err := s.PutStream(ctx, "cs/old", bytes.NewReader(data), int64(len(data)), wrong); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("PutStream over an object with a wrong SHA-256 = %v, want ErrChecksum", err)
	}
	if got := mustGet(t, s, "cs/old"); string(got) != "previous" {
		t.Errorf("after a refused write the object holds %q", got)
	}

	// Content that ends early is refused too.
	if _, err := s.PutStream(ctx, "cs/short", bytes.NewReader(data), int64(len(data))+10, sum(data)); err == nil {
		t.Error("PutStream of a short reader succeeded")
	}
	checkNotFound(t, s, "cs/short")

	// A large object goes to S3 in parts; a mismatch found only in the last
	// part must still stop the whole upload.
	const big = 20 << 20
	if _, err := s.PutStream(ctx, "cs/big", pseudoRandom(1, big), big, hashOf(t, pseudoRandom(2, big))); !errors.Is(err, storage.ErrChecksum) {
		t.Errorf("PutStream of %d MiB with a wrong SHA-256 = %v, want ErrChecksum", big>>20, err)
	}
	checkNotFound(t, s, "cs/big")

	for _, bad := range []string{"", "abc", strings.ToUpper(sum(data)), sum(data) + "00"} {
		if _, err := s.PutStream(ctx, "cs/badsum", bytes.NewReader(data), int64(len(data)), bad); err == nil {
			t.Errorf("PutStream accepted SHA-256 %q", bad)
		}
	}
	checkNotFound(t, s, "cs/badsum")
}

// testGetRange reads parts of an object: the start, the middle, the end,
// and ranges that do not fit.
func testGetRange(t *testing.T, s storage.Store) {
	ctx := t.Context()
	data := []byte("0123456789abcdefghij")
	mustPut(t, s, "range/obj", data)
	for _, r := range []struct{ off, n int64 }{{0, 1}, {0, 5}, {7, 6}, {19, 1}, {0, 20}} {
		got, err := s.GetRange(ctx, "range/obj", r.off, r.n)
		if want := data[r.off : r.off+r.n]; err != nil || !bytes.Equal(got, want) {
			t.Errorf("GetRange(%d, %d) = %q, %v; want %q", r.off, r.n, got, err, want)
		}
	}
	// Past the end, wholly or in part: not the object the caller expects.
	for _, r := range []struct{ off, n int64 }{{15, 6}, {0, 21}, {20, 1}, {100, 3}} {
		if got, err := s.GetRange(ctx, "range/obj", r.off, r.n); !errors.Is(err, storage.ErrChecksum) {
			t.Errorf("GetRange(%d, %d) of a %d-byte object = %q, %v; want ErrChecksum", r.off, r.n, len(data), got, err)
		}
	}
	for _, r := range []struct{ off, n int64 }{{0, 0}, {-1, 2}, {3, -1}} {
		if _, err := s.GetRange(ctx, "range/obj", r.off, r.n); err == nil {
			t.Errorf("GetRange(%d, %d) succeeded", r.off, r.n)
		}
	}
	for _, key := range []string{"range/absent", "range", "range/obj/below"} {
		if _, err := s.GetRange(ctx, key, 0, 1); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("GetRange(%q) = %v, want ErrNotFound", key, err)
		}
	}
	if _, err := s.GetRange(ctx, "a/../b", 0, 1); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("GetRange of an invalid key = %v, want ErrInvalidKey", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.GetRange(cctx, "range/obj", 0, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRange with a cancelled context = %v, want context.Canceled", err)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mustPut(t, s, "del/a/b/c", []byte("x"))
	mustPut(t, s, "del/a/keep", []byte("y"))
	for range 2 {
		if err := s.Delete(ctx, "del/a/b/c"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	checkNotFound(t, s, "del/a/b/c")
	if got := mustGet(t, s, "del/a/keep"); string(got) != "y" {
		t.Errorf("a neighbour of the deleted object holds %q", got)
	}
	for info, err := range s.List(ctx, "del/") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != "del/a/keep" {
			t.Errorf("List after Delete yields %q", info.Key)
		}
	}
	// A deleted key can be written again, including below where it was.
	mustPut(t, s, "del/a/b/c", []byte("z"))
	if got := mustGet(t, s, "del/a/b/c"); string(got) != "z" {
		t.Errorf("Get after rewrite = %q", got)
	}
}

func testContextCancelled(t *testing.T, s storage.Store) {
	mustPut(t, s, "ctx/present", []byte("x"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", op, err)
		}
	}
	_, err := s.Put(ctx, "ctx/put", []byte("x"))
	check("Put", err)
	_, err = s.Create(ctx, "ctx/create", []byte("x"))
	check("Create", err)
	_, err = s.PutStream(ctx, "ctx/stream", strings.NewReader("x"), 1, sum([]byte("x")))
	check("PutStream", err)
	_, err = s.Get(ctx, "ctx/present")
	check("Get", err)
	rc, _, err := s.Open(ctx, "ctx/present")
	if rc != nil {
		// S3 may open lazily; the first read must then fail.
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	check("Open", err)
	_, err = s.Stat(ctx, "ctx/present")
	check("Stat", err)
	check("Delete", s.Delete(ctx, "ctx/present"))
	check("Ping", s.Ping(ctx))
	n := 0
	for _, err := range s.List(ctx, "ctx/") {
		n++
		check("List", err)
	}
	if n != 1 {
		t.Errorf("List with a cancelled context yielded %d results, want one error", n)
	}
	for _, k := range []string{"ctx/put", "ctx/create", "ctx/stream"} {
		checkNotFound(t, s, k)
	}
	if got := mustGet(t, s, "ctx/present"); string(got) != "x" {
		t.Errorf("cancelled Delete removed the object")
	}
}

// testCancelMidStream cancels the context while the content is being sent:
// nothing may be stored.
func testCancelMidStream(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const size = 4 << 20
	want := hashOf(t, pseudoRandom(7, size))
	r := &cancellingReader{r: pseudoRandom(7, size), after: 1 << 20, cancel: cancel}
	if _, err := s.PutStream(ctx, "ctx/mid", r, size, want); err == nil {
		t.Fatal("PutStream succeeded although its context was cancelled half way")
	}
	checkNotFound(t, s, "ctx/mid")
}

// cancellingReader calls cancel once after bytes have been read, then goes
// on reading: the store, not the reader, must notice.
type cancellingReader struct {
	r      io.Reader
	after  int
	n      int
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
