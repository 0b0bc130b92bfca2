package printfile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quire-print/quire/pipeline/batch/printfile"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/fsstore"
	"github.com/quire-print/quire/renderer"
	"github.com/quire-print/quire/request"
)

var newRenderer = sync.OnceValues(renderer.New)

func mustRenderer(t testing.TB) *renderer.Renderer {
	t.Helper()
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	cutOff  = time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	created = time.Date(2026, 3, 2, 17, 31, 5, 0, time.UTC)
)

func clock() time.Time { return created }

// samples decodes every valid sample request, in file name order.
func samples(t testing.TB) []*request.Envelope {
	t.Helper()
	files, err := filepath.Glob("../../../testdata/requests/valid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample requests: %v", err)
	}
	var envs []*request.Envelope
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		env, err := request.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		envs = append(envs, env)
	}
	return envs
}

// newStore returns a filesystem store in a temporary directory.
func newStore(t testing.TB) *fsstore.Store {
	t.Helper()
	s, err := fsstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// makeBatch renders n envelopes made from the samples, each with its own
// envelope id and certificate references, the first third first class, commits them as the worker does,
// and reads them back as the batcher does: record, then stored request.
func makeBatch(t testing.TB, n int) []printfile.Envelope {
	t.Helper()
	return makeBatchIn(t, newStore(t), n)
}

// makeBatchIn is makeBatch with the envelopes stored in st.
func makeBatchIn(t testing.TB, st storage.Store, n int) []printfile.Envelope {
	t.Helper()
	ctx := context.Background()
	es := envelopes.New(st)
	r := mustRenderer(t)
	base := samples(t)
	var out []printfile.Envelope
	for i := range n {
		env := *base[i%len(base)]
		env.EnvelopeID = fmt.Sprintf("E-%04d", i+1)
		env.Certificates = slices.Clone(env.Certificates)
		for c := range env.Certificates {
			env.Certificates[c].Reference = fmt.Sprintf("BLC-T-%04d-%d", i+1, c+1)
		}
		if firstClass(i, n) {
			env.Letter.Postage = request.PostageFirst
		}
		out = append(out, commit(t, ctx, r, st, es, i+1, &env))
	}
	return out
}

// firstClass says whether envelope i of a batch of n made by makeBatch
// goes first class: the first third, as the batcher lists a batch with
// first-class envelopes first.
func firstClass(i, n int) bool { return i < (n+2)/3 }

func commit(t testing.TB, ctx context.Context, r *renderer.Renderer, st storage.Store, es *envelopes.Store, seq int, env *request.Envelope) printfile.Envelope {
	t.Helper()
	rendered, err := r.RenderEnvelope(env)
	if err != nil {
		t.Fatalf("%s: %v", env.EnvelopeID, err)
	}
	normalised, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	in := envelopes.Rendered{EnvelopeID: env.EnvelopeID, RequestHash: env.ContentHash(), Request: normalised,
		Documents: rendered.Documents, RenderedAt: created}
	if _, _, err := es.Commit(ctx, in); err != nil {
		t.Fatal(err)
	}
	rec, err := es.Record(ctx, env.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := es.Read(ctx, rec.Request)
	if err != nil {
		t.Fatal(err)
	}
	req, err := request.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return printfile.Envelope{Sequence: seq, ID: env.EnvelopeID, Request: req, Record: rec}
}

// list yields envs as Assemble reads them.
func list(envs []printfile.Envelope) iter.Seq2[printfile.Envelope, error] {
	return func(yield func(printfile.Envelope, error) bool) {
		for _, e := range envs {
			if !yield(e, nil) {
				return
			}
		}
	}
}

func newAssembler(t testing.TB, st printfile.Store, perFile int) *printfile.Assembler {
	t.Helper()
	return newAssemblerIn(t, st, perFile, t.TempDir())
}

// newAssemblerIn is newAssembler with its temporary files in tmp.
func newAssemblerIn(t testing.TB, st printfile.Store, perFile int, tmp string) *printfile.Assembler {
	t.Helper()
	a, err := printfile.New(printfile.Config{
		Renderer: mustRenderer(t), Store: st, Now: clock,
		EnvelopesPerFile: perFile, TempDir: tmp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func batch(id string) printfile.Batch {
	return printfile.Batch{ID: id, CutOff: cutOff, KeyPrefix: "batches/" + id + "/"}
}

// assertEmpty fails t if dir holds anything: temporary print files must
// be removed whatever happens.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("%d temporary files left behind, e.g. %s", len(left), left[0].Name())
	}
}

// fetch copies a stored object to a file and returns its path.
func fetch(t *testing.T, st storage.Store, key string) string {
	t.Helper()
	data, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(key))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
