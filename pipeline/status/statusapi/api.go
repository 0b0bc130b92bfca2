// Package statusapi serves envelope timelines (package status) to support
// tools on the admin listener, behind bearer tokens made and checked like
// the supplier's (internal/bearer):
//
//	GET  /internal/v1/envelopes/{envelopeId}   one envelope's timeline
//	POST /internal/v1/envelopes/lookup         {"reference": "…"}: the
//	                                           timelines of the envelopes
//	                                           holding that certificate
//
// Lookup by reference is a POST with the reference in the body, not a GET
// with it in the query string: URLs are written to access logs by proxies,
// load balancers and HTTP servers, and a certificate reference is personal
// data. The API's own log line names the token's holder, the envelope ids
// and the status, never a reference (api/internal.openapi.yaml).
package statusapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/clock"
	"github.com/quire-print/quire/pipeline/status"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// BasePath is where the API's routes start. Mount it on a mux at its
// first segment: mux.Handle("/internal/", api).
const BasePath = "/internal/v1"

// maxBody bounds a lookup's body: a reference is at most 32 characters.
const maxBody = 4 << 10

// Timelines builds timelines: *status.Builder.
type Timelines interface {
	Timeline(ctx context.Context, id string) (*status.Timeline, error)
}

// Index finds envelopes by certificate reference: *refindex.Index, whose
// nil value answers refindex.ErrNoKey.
type Index interface {
	Lookup(ctx context.Context, s storage.Store, ref string) ([]string, error)
}

// Config configures the API. Timelines, Store and Tokens are required.
type Config struct {
	Timelines Timelines
	// Index finds envelopes by reference. Default nil: lookup by reference
	// answers 501, saying no reference key is configured.
	Index Index
	// Store holds the reference index.
	Store storage.Store
	// Tokens are the accepted tokens' hashes, by holder.
	Tokens *bearer.Set
	// Logger receives a line per request: the token's holder, the
	// operation, envelope ids and the status; and a line with the client's
	// address when it is refused for too many failed authentications
	// (once per lockout). Default slog.Default().
	Logger *slog.Logger
	// Clock times the limit on failed authentications. Default: the
	// system clock.
	Clock clock.Clock
}

// API is the status API, an http.Handler. It is safe for concurrent use.
type API struct {
	cfg   Config
	mux   *http.ServeMux
	log   *slog.Logger
	fails *bearer.Limiter
}

type route struct {
	method, path string
	handle       func(a *API, w http.ResponseWriter, r *http.Request, who string)
}

var routes = []route{
	{"GET", "/envelopes/{envelopeId}", (*API).show},
	{"POST", "/envelopes/lookup", (*API).lookup},
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
	var errs []error
	if cfg.Timelines == nil {
		errs = append(errs, errors.New("statusapi: Timelines is required"))
	}
	if cfg.Store == nil {
		errs = append(errs, errors.New("statusapi: Store is required"))
	}
	if cfg.Tokens == nil || cfg.Tokens.Len() == 0 {
		errs = append(errs, errors.New("statusapi: at least one token is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, fails: bearer.NewLimiter()}
	for _, rt := range routes {
		a.mux.HandleFunc(rt.method+" "+BasePath+rt.path, func(w http.ResponseWriter, r *http.Request) {
			who, ok := cfg.Tokens.Match(r)
			if !ok {
				// Limited per client address as on the supplier's pull
				// API (bearer.Limiter).
				from := bearer.ClientKey(r.RemoteAddr)
				if wait := a.fails.Wait(from, cfg.Clock.Now()); wait > 0 {
					w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
					a.problem(w, http.StatusTooManyRequests, "too-many-requests",
						"too many failed authentications from this address; try again after Retry-After seconds")
					return
				}
				if wait, report := a.fails.Fail(from, cfg.Clock.Now()); report {
					a.log.Warn("status: too many failed authentications; refusing the address for now",
						"addr", from, "retry_after", wait.Round(time.Second))
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="quire-internal"`)
				a.problem(w, http.StatusUnauthorized, "unauthorized", "a valid token is required")
				return
			}
			rt.handle(a, w, r, who)
		})
	}
	a.mux.HandleFunc(BasePath+"/", func(w http.ResponseWriter, r *http.Request) {
		a.problem(w, http.StatusNotFound, "not-found", "no such operation")
	})
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func (a *API) show(w http.ResponseWriter, r *http.Request, who string) {
	id := r.PathValue("envelopeId")
	if envelopes.ValidID(id) != nil {
		// Not repeated: a malformed id could hold anything.
		a.problem(w, http.StatusBadRequest, "invalid", "envelopeId must be 1 to 64 characters from A-Z a-z 0-9 . _ -")
		return
	}
	tl, err := a.cfg.Timelines.Timeline(r.Context(), id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		a.log.Info("status: envelope looked up", "by", who, "envelope", id, "status", http.StatusNotFound)
		a.problem(w, http.StatusNotFound, "not-found", "nothing is stored for envelope "+id+
			": it has not arrived yet, was rejected (see the rejected event or the dead letters), or the id is wrong")
		return
	case err != nil:
		a.storageFailed(w, err)
		return
	}
	a.log.Info("status: envelope looked up", "by", who, "envelope", id, "status", http.StatusOK)
	a.json(w, tl)
}

// LookupRequest is the body of a lookup by reference.
type LookupRequest struct {
	Reference string `json:"reference"`
}

// LookupResult is the answer to a lookup by reference: the timelines of
// every envelope holding a certificate with the reference, usually one.
type LookupResult struct {
	Envelopes []*status.Timeline `json:"envelopes"`
}

func (a *API) lookup(w http.ResponseWriter, r *http.Request, who string) {
	var req LookupRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		a.problem(w, http.StatusBadRequest, "invalid", `the body must be {"reference": "…"}`)
		return
	}
	if a.cfg.Index == nil {
		a.problem(w, http.StatusNotImplemented, "reference-lookup-off", refindex.ErrNoKey.Error())
		return
	}
	ids, err := a.cfg.Index.Lookup(r.Context(), a.cfg.Store, req.Reference)
	switch {
	case errors.Is(err, refindex.ErrNoKey):
		a.problem(w, http.StatusNotImplemented, "reference-lookup-off", refindex.ErrNoKey.Error())
		return
	case errors.Is(err, refindex.ErrReference):
		a.problem(w, http.StatusUnprocessableEntity, "invalid", err.Error())
		return
	case err != nil:
		a.storageFailed(w, err)
		return
	}
	out := LookupResult{Envelopes: []*status.Timeline{}}
	for _, id := range ids {
		tl, err := a.cfg.Timelines.Timeline(r.Context(), id)
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, envelopes.ErrInvalid) {
			continue // an entry whose commit never completed
		} else if err != nil {
			a.storageFailed(w, err)
			return
		}
		out.Envelopes = append(out.Envelopes, tl)
	}
	found := make([]string, len(out.Envelopes))
	for i, tl := range out.Envelopes {
		found[i] = tl.EnvelopeID
	}
	a.log.Info("status: envelopes looked up by reference", "by", who, "envelopes", strings.Join(found, ","), "status", http.StatusOK)
	a.json(w, out)
}

// problem writes an RFC 9457 problem with a stable code. detail holds no
// personal data.
func (a *API) problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status),
		"status": status, "detail": detail, "code": code})
}

func (a *API) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) storageFailed(w http.ResponseWriter, err error) {
	a.log.Warn("status: storage failed", "err", err)
	w.Header().Set("Retry-After", "30")
	a.problem(w, http.StatusServiceUnavailable, "unavailable", "storage is unavailable; try again")
}
