package pull

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch/ledger"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/supplier"
)

// BasePath is where the API's routes start. Mount the API on a mux at
// BasePath's first segment: mux.Handle("/supplier/", api).
const BasePath = "/supplier/v1"

// Limits on requests.
const (
	// DefaultMaxOutcomes is the most outcomes one report may carry.
	DefaultMaxOutcomes = 1000
	maxBody            = 1 << 20
)

// Retention is told when an envelope has been posted, so that its
// personal data can be deleted once the retention period after posting
// has passed. *retention.Keeper is one.
type Retention interface {
	Posted(ctx context.Context, envelopeID string, at time.Time) error
}

// Reprints is told when the supplier reports an envelope spoiled, so
// that it is printed again at the next cut-off (or held for an operator).
// It must be idempotent: a repeated report calls it again.
// *reprint.Reprinter is one.
type Reprints interface {
	Spoiled(ctx context.Context, s *ledger.Sealed, envelopeID string) error
}

// Credentials are one supplier's tokens, stored as hashes.
type Credentials struct {
	// Supplier is the supplier's name (supplier.ValidName); it sees the
	// batches made for that name.
	Supplier string
	// TokenSHA256 are the lowercase hex SHA-256 hashes of the tokens it
	// may use: usually one, two while a token is being replaced. Make
	// tokens with NewToken.
	TokenSHA256 []string
}

// Config configures the API. Store, Suppliers, Events and Retention are
// required.
type Config struct {
	// Store holds the batches.
	Store storage.Store
	// Suppliers lists who may call the API, and with which tokens.
	Suppliers []Credentials
	// Events publishes the printed, posted, returned and spoiled events.
	Events pipeline.Publisher
	// Retention is told of postings.
	Retention Retention
	// Reprints is told of spoiled envelopes. Default nil: no automatic
	// reprints; an operator asks for each (quire envelopes reprint).
	Reprints Reprints
	// Clock stamps receipts and reports, bounds reported times, and times
	// the limit on failed authentications. Default: the system clock.
	Clock clock.Clock
	// Logger receives a line per request, with supplier names, batch ids
	// and statuses only, and a line with the client's address when it is
	// refused for too many failed authentications (once per lockout).
	// Default slog.Default().
	Logger *slog.Logger
	// MaxOutcomes is the most outcomes one report may carry. Default 1000.
	MaxOutcomes int
	// ClockSkew is how far in the future a reported time may be. Default
	// 10m.
	ClockSkew time.Duration
}

func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("pull: "+format, args...)) }
	if c.Store == nil {
		add("Store is required")
	}
	if c.Events == nil {
		add("Events is required")
	}
	if c.Retention == nil {
		add("Retention is required: posted envelopes' personal data must be scheduled for deletion")
	}
	if len(c.Suppliers) == 0 {
		add("at least one supplier with a token is required")
	}
	seen := map[string]bool{}
	hashes := map[string]bool{}
	for i, s := range c.Suppliers {
		if err := supplier.ValidName(s.Supplier); err != nil {
			add("supplier %d: %v", i+1, err)
		}
		if seen[s.Supplier] {
			add("supplier %q is listed twice", s.Supplier)
		}
		seen[s.Supplier] = true
		if len(s.TokenSHA256) == 0 {
			add("supplier %q has no token", s.Supplier)
		}
		for _, h := range s.TokenSHA256 {
			if err := bearer.ValidHash(h); err != nil {
				add("supplier %q: %v", s.Supplier, err)
			} else if hashes[h] {
				add("supplier %q: a token hash is used twice", s.Supplier)
			}
			hashes[h] = true
		}
	}
	if c.MaxOutcomes < 0 || c.ClockSkew < 0 {
		add("MaxOutcomes and ClockSkew cannot be negative")
	}
	return errors.Join(errs...)
}

// NewToken returns a new random token (256 bits, base64url) and the hash
// to configure for it. Give the token to the supplier and keep only the
// hash.
func NewToken() (token, hash string) { return bearer.New("qs_") }

// HashToken returns the lowercase hex SHA-256 of token.
func HashToken(token string) string { return bearer.Hash(token) }

// API is the supplier pull API, an http.Handler. It is safe for concurrent
// use.
type API struct {
	cfg     Config
	st      *ledger.Store
	events  *events.Publisher
	creds   bearer.Set
	fails   *bearer.Limiter
	mux     *http.ServeMux
	log     *slog.Logger
	metrics *metrics
}

// route is one operation of the API.
type route struct {
	method, path string
	handle       func(a *API, w http.ResponseWriter, r *http.Request, supplierName string)
}

var routes = []route{
	{"GET", "/batches", (*API).list},
	{"GET", "/batches/{batchId}", (*API).show},
	{"GET", "/batches/{batchId}/manifest", (*API).manifest},
	{"GET", "/batches/{batchId}/files/{name}", (*API).file},
	{"POST", "/batches/{batchId}/receipt", (*API).receipt},
	{"POST", "/batches/{batchId}/outcomes", (*API).outcomes},
}

// Routes lists the API's operations as "METHOD path", with BasePath, for
// checking the OpenAPI description against.
func Routes() []string {
	var rs []string
	for _, r := range routes {
		rs = append(rs, r.method+" "+BasePath+r.path)
	}
	return rs
}

// New checks cfg and returns the API.
func New(cfg Config) (*API, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxOutcomes == 0 {
		cfg.MaxOutcomes = DefaultMaxOutcomes
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = 10 * time.Minute
	}
	a := &API{cfg: cfg, st: ledger.NewStore(cfg.Store), events: events.NewPublisher(cfg.Events), fails: bearer.NewLimiter(),
		mux: http.NewServeMux(), log: cfg.Logger, metrics: newMetrics()}
	for _, s := range cfg.Suppliers {
		for _, h := range s.TokenSHA256 {
			_ = a.creds.Add(s.Supplier, h) // validated above
		}
	}
	for _, rt := range routes {
		pattern := rt.method + " " + BasePath + rt.path
		a.mux.HandleFunc(pattern, a.metrics.count(pattern, func(w http.ResponseWriter, r *http.Request) {
			name, ok := a.authenticate(r)
			if !ok {
				from := bearer.ClientKey(r.RemoteAddr)
				if wait := a.fails.Wait(from, a.cfg.Clock.Now()); wait > 0 {
					a.tooMany(w, r, wait)
					return
				}
				if wait, report := a.fails.Fail(from, a.cfg.Clock.Now()); report {
					a.metrics.lockouts.Inc()
					a.log.Warn("pull: too many failed authentications; refusing the address for now",
						"addr", from, "retry_after", wait.Round(time.Second))
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="quire-supplier"`)
				a.problem(w, r, http.StatusUnauthorized, "unauthorized", "a valid supplier token is required")
				return
			}
			rt.handle(a, w, r, name)
		}))
	}
	// Other methods on a known path are 405, anything else 404, both as
	// problems: the catch-all below would otherwise take them all.
	paths := http.NewServeMux()
	allow := map[string][]string{}
	for _, rt := range routes {
		if allow[rt.path] == nil {
			paths.HandleFunc(BasePath+rt.path, func(http.ResponseWriter, *http.Request) {})
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	a.mux.HandleFunc(BasePath+"/", a.metrics.count(BasePath+"/", func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allow[strings.TrimPrefix(pattern, BasePath)], ", "))
			a.problem(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "this operation does not take "+r.Method)
			return
		}
		a.problem(w, r, http.StatusNotFound, "not-found", "no such operation")
	}))
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// authenticate returns the supplier whose token the request carries, in
// constant time (bearer.Set.Match).
func (a *API) authenticate(r *http.Request) (string, bool) { return a.creds.Match(r) }

// problem writes an RFC 9457 problem, with a stable code as an extension
// member (not-found, unauthorized, invalid, …). detail holds no personal
// data.
func (a *API) problem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	a.problemWith(w, r, status, code, detail, nil)
}

func (a *API) problemWith(w http.ResponseWriter, r *http.Request, status int, code, detail string, extra map[string]any) {
	body := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status,
		"detail": detail, "code": code}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
	if status >= 500 {
		a.log.Warn("pull: request failed", "method", r.Method, "path", r.URL.Path, "status", status, "code", code)
	}
}

func (a *API) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// batchOf returns the sealed batch the request names, if it was handed to
// this supplier. Anything else (not a batch id, not sealed, another
// supplier's, not handed over yet) is "not found": a supplier learns
// nothing about batches that are not its own.
func (a *API) batchOf(w http.ResponseWriter, r *http.Request, supplierName string) (*ledger.Sealed, bool) {
	id := r.PathValue("batchId")
	notFound := func() (*ledger.Sealed, bool) {
		a.problem(w, r, http.StatusNotFound, "not-found", "no batch "+safe(id)+" for this supplier")
		return nil, false
	}
	if ledger.ValidID(id) != nil {
		return notFound()
	}
	s, err := a.st.Sealed(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) {
		return notFound()
	} else if err != nil {
		a.storageFailed(w, r, err)
		return nil, false
	}
	if s.Supplier != supplierName {
		return notFound()
	}
	if _, err := a.cfg.Store.Stat(r.Context(), ReadyKey(supplierName, id)); errors.Is(err, storage.ErrNotFound) {
		if _, err := a.st.Receipt(r.Context(), id); errors.Is(err, storage.ErrNotFound) {
			return notFound() // sealed, but not handed over
		} else if err != nil {
			a.storageFailed(w, r, err)
			return nil, false
		}
	} else if err != nil {
		a.storageFailed(w, r, err)
		return nil, false
	}
	return s, true
}

// safe returns s if it could be a batch id, for messages: anything else
// is not repeated.
func safe(s string) string {
	if ledger.ValidID(s) != nil {
		return "(not a batch id)"
	}
	return s
}

// tooMany refuses a request from an address that has used up its
// failed authentications, for wait (Retry-After in whole seconds, rounded
// up).
func (a *API) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
	a.problem(w, r, http.StatusTooManyRequests, "too-many-requests",
		"too many failed authentications from this address; try again after Retry-After seconds")
}

func (a *API) storageFailed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Warn("pull: storage failed", "path", r.URL.Path, "err", err)
	w.Header().Set("Retry-After", "30")
	a.problem(w, r, http.StatusServiceUnavailable, "unavailable", "storage is unavailable; try again")
}

// Batch is a batch as the API describes it.
type Batch struct {
	BatchID        string     `json:"batchId"`
	CutOff         time.Time  `json:"cutOff"`
	SealedAt       time.Time  `json:"sealedAt"`
	Envelopes      int        `json:"envelopes"`
	Pages          int        `json:"pages"`
	Sheets         int        `json:"sheets"`
	Files          []File     `json:"files"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt"`
}

// File is one file of a Batch.
type File struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Href   string `json:"href"`
}

func (a *API) describe(ctx context.Context, s *ledger.Sealed) (Batch, error) {
	b := Batch{BatchID: s.BatchID, CutOff: s.CutOff, SealedAt: s.SealedAt, Envelopes: len(s.Envelopes),
		Pages: s.Pages, Sheets: s.Sheets, Files: []File{}}
	for _, f := range s.Files {
		b.Files = append(b.Files, File{Name: f.Name, Kind: f.Kind, SHA256: f.SHA256, Size: f.Size,
			Href: BasePath + "/batches/" + s.BatchID + "/files/" + f.Name})
	}
	rc, err := a.st.Receipt(ctx, s.BatchID)
	switch {
	case err == nil:
		b.AcknowledgedAt = &rc.At
	case !errors.Is(err, storage.ErrNotFound):
		return Batch{}, err
	}
	return b, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request, supplierName string) {
	out := struct {
		Batches []Batch `json:"batches"`
	}{Batches: []Batch{}}
	for info, err := range a.cfg.Store.List(r.Context(), ReadyPrefix+supplierName+"/") {
		if err != nil {
			a.storageFailed(w, r, err)
			return
		}
		id := strings.TrimPrefix(info.Key, ReadyPrefix+supplierName+"/")
		s, err := a.st.Sealed(r.Context(), id)
		if err != nil {
			a.storageFailed(w, r, err)
			return
		}
		if s.Supplier != supplierName {
			continue
		}
		b, err := a.describe(r.Context(), s)
		if err != nil {
			a.storageFailed(w, r, err)
			return
		}
		out.Batches = append(out.Batches, b)
	}
	a.json(w, http.StatusOK, out)
}

func (a *API) show(w http.ResponseWriter, r *http.Request, supplierName string) {
	s, ok := a.batchOf(w, r, supplierName)
	if !ok {
		return
	}
	b, err := a.describe(r.Context(), s)
	if err != nil {
		a.storageFailed(w, r, err)
		return
	}
	a.json(w, http.StatusOK, b)
}

func (a *API) manifest(w http.ResponseWriter, r *http.Request, supplierName string) {
	s, ok := a.batchOf(w, r, supplierName)
	if !ok {
		return
	}
	f, ok := s.File(ledger.ManifestJSON)
	if !ok {
		a.problem(w, r, http.StatusNotFound, "not-found", "batch "+s.BatchID+" has no manifest")
		return
	}
	a.stream(w, r, s, f)
}

func (a *API) file(w http.ResponseWriter, r *http.Request, supplierName string) {
	s, ok := a.batchOf(w, r, supplierName)
	if !ok {
		return
	}
	f, ok := s.File(r.PathValue("name"))
	if !ok {
		a.problem(w, r, http.StatusNotFound, "not-found", "batch "+s.BatchID+" has no such file")
		return
	}
	a.stream(w, r, s, f)
}

var contentTypes = map[string]string{
	ledger.FilePrint:        "application/pdf",
	ledger.FileManifestJSON: "application/json",
	ledger.FileManifestCSV:  "text/csv; charset=utf-8",
}

// downloadTime bounds the writing of one file: serve's server-wide write
// timeout is for small answers.
const downloadTime = 30 * time.Minute

// stream sends one file from storage, with its size and SHA-256 in the
// headers. If the stored content turns out not to match (the store checks
// as it reads), the response is cut short, so that the supplier never
// receives a complete-looking wrong file.
func (a *API) stream(w http.ResponseWriter, r *http.Request, s *ledger.Sealed, f ledger.File) {
	body, info, err := a.cfg.Store.Open(r.Context(), f.Key)
	if errors.Is(err, storage.ErrNotFound) {
		a.problem(w, r, http.StatusGone, "gone", "the file was deleted under the retention policy")
		return
	} else if err != nil {
		a.storageFailed(w, r, err)
		return
	}
	defer body.Close()
	if info.Size != f.Size || info.SHA256 != f.SHA256 {
		a.log.Error("pull: a stored batch file does not match its seal", "batch_id", s.BatchID, "file", f.Name)
		a.problem(w, r, http.StatusInternalServerError, "damaged", "the stored file does not match the batch; Quire's operators have been alerted")
		return
	}
	sum, _ := hex.DecodeString(f.SHA256)
	h := w.Header()
	h.Set("Content-Type", contentTypes[f.Kind])
	h.Set("Content-Length", fmt.Sprint(f.Size))
	h.Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	h.Set("Cache-Control", "no-store")
	// A deadline for this response's writes, by the wall clock the
	// connection runs on.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(downloadTime))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, body); err != nil {
		a.log.Warn("pull: download cut short", "batch_id", s.BatchID, "file", f.Name, "err", err)
		panic(http.ErrAbortHandler) // drop the connection: the client sees a short body, not a whole one
	}
}

func (a *API) receipt(w http.ResponseWriter, r *http.Request, supplierName string) {
	s, ok := a.batchOf(w, r, supplierName)
	if !ok {
		return
	}
	rc, created, err := a.st.Acknowledge(r.Context(), ledger.Receipt{BatchID: s.BatchID, Supplier: supplierName, At: a.cfg.Clock.Now()})
	if err != nil {
		a.storageFailed(w, r, err)
		return
	}
	if err := a.cfg.Store.Delete(r.Context(), ReadyKey(supplierName, s.BatchID)); err != nil {
		a.storageFailed(w, r, err)
		return
	}
	if created {
		a.log.Info("pull: batch acknowledged", "supplier", supplierName, "batch_id", s.BatchID)
	}
	a.json(w, http.StatusOK, struct {
		BatchID        string    `json:"batchId"`
		AcknowledgedAt time.Time `json:"acknowledgedAt"`
		First          bool      `json:"first"`
	}{s.BatchID, rc.At, created})
}

// Report is one outcome in a report.
type Report struct {
	Sequence   int       `json:"sequence"`
	EnvelopeID string    `json:"envelopeId"`
	Outcome    string    `json:"outcome"`
	At         time.Time `json:"at"`
	// Code is an optional reason code for returned and spoiled, such as
	// addressee-gone-away: 1 to 64 of a-z 0-9 -.
	Code string `json:"code,omitempty"`
}

// Problem is one thing wrong with a report.
type Problem struct {
	Index   int    `json:"index"`
	Field   string `json:"field,omitempty"`
	Problem string `json:"problem"`
}

var (
	codeShape = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)
	outcomes  = map[string]string{
		ledger.OutcomePrinted:  events.TypePrinted,
		ledger.OutcomePosted:   events.TypePosted,
		ledger.OutcomeReturned: events.TypeReturned,
		ledger.OutcomeSpoiled:  events.TypeSpoiled,
	}
)

func (a *API) outcomes(w http.ResponseWriter, r *http.Request, supplierName string) {
	s, ok := a.batchOf(w, r, supplierName)
	if !ok {
		return
	}
	var body struct {
		Outcomes []Report `json:"outcomes"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		// The decoder's message can quote the body: it is not passed on.
		a.problem(w, r, http.StatusBadRequest, "malformed", "the body must be one JSON object {\"outcomes\": [...]} of at most 1 MiB with only the documented fields")
		return
	}
	if n := len(body.Outcomes); n == 0 || n > a.cfg.MaxOutcomes {
		a.problem(w, r, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("a report carries 1 to %d outcomes, not %d", a.cfg.MaxOutcomes, n))
		return
	}
	if problems := a.check(s, body.Outcomes); len(problems) > 0 {
		a.problemWith(w, r, http.StatusUnprocessableEntity, "invalid", fmt.Sprintf("%d outcomes are not valid; none was recorded", len(problems)),
			map[string]any{"problems": problems})
		return
	}

	now := a.cfg.Clock.Now()
	var mu sync.Mutex
	recorded, repeated := 0, 0
	var errs []error
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, rep := range body.Outcomes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			created, err := a.record(r.Context(), s, rep, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case created:
				recorded++
			default:
				repeated++
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		a.log.Warn("pull: recording outcomes failed", "supplier", supplierName, "batch_id", s.BatchID, "failed", len(errs), "err", err)
		w.Header().Set("Retry-After", "30")
		a.problem(w, r, http.StatusServiceUnavailable, "unavailable",
			fmt.Sprintf("%d of %d outcomes could not be recorded or announced; send the same report again", len(errs), len(body.Outcomes)))
		return
	}
	a.log.Info("pull: outcomes reported", "supplier", supplierName, "batch_id", s.BatchID, "recorded", recorded, "repeated", repeated)
	a.json(w, http.StatusOK, struct {
		Recorded        int `json:"recorded"`
		AlreadyRecorded int `json:"alreadyRecorded"`
	}{recorded, repeated})
}

// check validates every outcome of a report against the batch.
func (a *API) check(s *ledger.Sealed, reports []Report) []Problem {
	bySeq := make(map[int]string, len(s.Envelopes))
	for _, m := range s.Envelopes {
		bySeq[m.Sequence] = m.EnvelopeID
	}
	latest := a.cfg.Clock.Now().Add(a.cfg.ClockSkew)
	var ps []Problem
	add := func(i int, field, format string, args ...any) {
		ps = append(ps, Problem{Index: i, Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	for i, rep := range reports {
		switch id, ok := bySeq[rep.Sequence]; {
		case !ok:
			add(i, "sequence", "is not the sequence number of an envelope in this batch")
		case id != rep.EnvelopeID:
			add(i, "envelopeId", "is not the envelope with this sequence number in this batch")
		}
		if _, ok := outcomes[rep.Outcome]; !ok {
			add(i, "outcome", "must be printed, posted, returned or spoiled")
		}
		switch {
		case rep.At.IsZero():
			add(i, "at", "is required")
		case rep.At.Before(s.SealedAt.Add(-a.cfg.ClockSkew)):
			add(i, "at", "is before the batch was made")
		case rep.At.After(latest):
			add(i, "at", "is in the future")
		}
		switch {
		case rep.Code == "":
		case rep.Outcome != ledger.OutcomeReturned && rep.Outcome != ledger.OutcomeSpoiled:
			add(i, "code", "is only for returned and spoiled")
		case !codeShape.MatchString(rep.Code):
			add(i, "code", "must be 1 to 64 characters from a-z 0-9 -, starting with a letter or digit")
		}
	}
	return ps
}

// record stores one outcome (the first report of it is kept), schedules
// the envelope's personal data for deletion once it is posted, announces
// the outcome, and has a spoiled envelope reprinted. A repeated report announces the stored outcome
// again: an earlier attempt may have stored it and failed to announce it.
func (a *API) record(ctx context.Context, s *ledger.Sealed, rep Report, now time.Time) (bool, error) {
	o, created, err := a.st.RecordOutcome(ctx, ledger.Outcome{BatchID: s.BatchID, EnvelopeID: rep.EnvelopeID,
		Sequence: rep.Sequence, Outcome: rep.Outcome, Code: rep.Code, At: rep.At, ReportedAt: now})
	if err != nil {
		return false, err
	}
	if o.Outcome == ledger.OutcomePosted {
		if err := a.cfg.Retention.Posted(ctx, o.EnvelopeID, o.At); err != nil {
			return false, err
		}
	}
	m, _ := s.Member(o.EnvelopeID)
	in := events.InBatch{EnvelopeID: o.EnvelopeID, BatchID: s.BatchID, Sequence: o.Sequence, Supplier: s.Supplier, Reprint: m.Run}
	if err := a.events.Publish(ctx, events.Outcome(outcomes[o.Outcome], in, o.At, o.Code)); err != nil {
		return false, err
	}
	if o.Outcome == ledger.OutcomeSpoiled && a.cfg.Reprints != nil {
		// After the spoiled event, so that upstream hears of the spoiling
		// before the reprint; a repeated report asks again, and the
		// reprint is made once.
		if err := a.cfg.Reprints.Spoiled(ctx, s, o.EnvelopeID); err != nil {
			return false, err
		}
	}
	return created, nil
}
