package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// The intake endpoint exists only with the embedded queue: it stands in for
// RabbitMQ's requests exchange, so that quire submit can hand messages to a
// running quire serve. It answers loopback clients only.
//
//	POST /intake/envelope.render   body: an envelope request (JSON)
//	POST /intake/envelope.cancel   body: a cancel message (JSON)
//	Quire-Message-Id: <id>         optional; quire submit sends the envelope id
//
// 202 {"messageId": "..."} once the message is queued; the body is not
// checked here (the worker dead-letters what it cannot use, as it does
// from RabbitMQ). 400 for an unknown kind or a bad message id, 403 for a
// client not on loopback, 413 for a body over the size limit.
const (
	IntakePath      = "/intake/"
	MessageIDHeader = "Quire-Message-Id"
)

type intake struct {
	q   *memqueue.Queue
	log *slog.Logger
}

func (h *intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.RemoteAddr) {
		http.Error(w, "the intake endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	kind := r.PathValue("kind")
	limit := int64(request.MaxRequestSize)
	switch kind {
	case pipeline.KindRender:
	case pipeline.KindCancel:
		limit = cancel.MaxSize
	default:
		http.Error(w, "kind must be "+pipeline.KindRender+" or "+pipeline.KindCancel, http.StatusBadRequest)
		return
	}
	id := r.Header.Get(MessageIDHeader)
	if id != "" && envelopes.ValidID(id) != nil {
		http.Error(w, MessageIDHeader+" must be 1 to 64 characters from A-Z a-z 0-9 . _ -", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	m := memqueue.Message{Kind: kind, Body: body, MessageID: id}
	if err := h.q.PublishMessage(r.Context(), m); err != nil {
		http.Error(w, "cannot queue the message", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"messageId": id})
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IntakeClient hands messages to a running embedded quire serve over its
// intake endpoint.
type IntakeClient struct {
	// BaseURL is the serve's HTTP address, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// HTTP is the client to use. Default http.DefaultClient.
	HTTP *http.Client
}

// Submit queues one message of kind with message id id (may be empty).
func (c IntakeClient) Submit(ctx context.Context, kind, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+IntakePath+kind, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(MessageIDHeader, id)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("intake: is quire serve running on %s with the embedded queue? %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("intake: %s has no intake endpoint: is quire serve there running with RabbitMQ? Then submit with --amqp-url", c.BaseURL)
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("intake: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// EnvelopeID reads a request's envelope id without validating the rest,
// for use as its message id; "" when it has none that is valid.
func EnvelopeID(body []byte) string {
	var v struct {
		EnvelopeID string `json:"envelopeId"`
	}
	if json.Unmarshal(body, &v) != nil || envelopes.ValidID(v.EnvelopeID) != nil {
		return ""
	}
	return v.EnvelopeID
}
