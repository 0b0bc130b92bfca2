package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/cancel"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/request"
)

// The intake endpoint exists only with the embedded queue, on the admin
// listener: it stands in for RabbitMQ's requests exchange, so that quire
// submit can hand messages to a running quire serve. It renders and
// cancels real envelopes, so it answers programs, not web pages:
//
//	POST /intake/envelope.render   body: an envelope request (JSON)
//	POST /intake/envelope.cancel   body: a cancel message (JSON)
//	Content-Type: application/json required: a web page's form cannot send it
//	Quire-Message-Id: <id>         optional; quire submit sends the envelope id
//	Authorization: Bearer <token>  when Config.IntakeTokenSHA256 is set
//
// 202 {"messageId": "..."} once the message is queued; the body is not
// checked here (the worker dead-letters what it cannot use, as it does
// from RabbitMQ). 400 for an unknown kind or a bad message id; 401 for a
// missing or wrong token; 403 for a request a browser sent (an Origin
// header, or Sec-Fetch-Site other than "none"), a Host that is not the
// listener's address (a name that resolves to it, as DNS rebinding uses)
// or, without a token, a client not on loopback; 413 for a body over the
// size limit; 415 for another content type.
const (
	IntakePath      = "/intake/"
	MessageIDHeader = "Quire-Message-Id"
)

type intake struct {
	q   *memqueue.Queue
	log *slog.Logger
	// tokenSHA256 is the hex SHA-256 of the token required; "" for none
	// (and loopback clients only).
	tokenSHA256 string
	// addr is the listener's address, which Host must name.
	addr net.Addr
}

func (h *intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" || (r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "none") {
		h.refuse(w, r, http.StatusForbidden, "browser", "the intake endpoint does not answer requests from web pages")
		return
	}
	if !h.hostIsListener(r.Host) {
		h.refuse(w, r, http.StatusForbidden, "host", "Host must be the listener's IP address, or localhost on loopback")
		return
	}
	if h.tokenSHA256 != "" {
		if !h.tokenOK(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="quire-intake"`)
			h.refuse(w, r, http.StatusUnauthorized, "token", "the intake endpoint needs its token: Authorization: Bearer <token>")
			return
		}
	} else if !loopback(r.RemoteAddr) {
		h.refuse(w, r, http.StatusForbidden, "client", "without a token the intake endpoint answers loopback clients only")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.refuse(w, r, http.StatusUnsupportedMediaType, "content-type", "Content-Type must be application/json")
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

// refuse answers status with msg, and logs the refusal with its reason
// code and the client's address (never the body).
func (h *intake) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	h.log.Warn("intake: request refused", "reason", reason, "status", status, "client", r.RemoteAddr)
	http.Error(w, msg, status)
}

// hostIsListener reports whether the request's Host names the listener
// by its IP address (any IP address for a listener on every interface),
// or is localhost for a loopback one. A page on another site that gets
// its name to resolve to this address (DNS rebinding) sends its own name
// as Host. The port is not compared: port forwarding and proxies change
// it, and a page cannot choose the Host name it sends.
func (h *intake) hostIsListener(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	tcp, ok := h.addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return tcp.IP.IsLoopback() || tcp.IP.IsUnspecified()
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	return tcp.IP.IsUnspecified() || ip.Equal(tcp.IP)
}

// tokenOK reports whether the request carries the token whose hash is
// configured, compared in constant time.
func (h *intake) tokenOK(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	want, err := hex.DecodeString(h.tokenSHA256)
	if err != nil {
		return false
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want) == 1
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
	// BaseURL is the serve's admin listener, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Token is sent as Authorization: Bearer when the serve requires one.
	// Default empty: none.
	Token string
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
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
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
