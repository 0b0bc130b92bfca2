package service_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/quire-print/quire/internal/syncbuf"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

const cancelBody = `{"schemaVersion":1,"envelopeId":"E-1","code":"sent-in-error"}`

// post sends a cancel to the intake with the given headers (Host among
// them) and returns the status.
func post(t *testing.T, base string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+service.IntakePath+pipeline.KindCancel, bytes.NewReader([]byte(cancelBody)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestIntakeRefusesBrowsersAndRebinding: the intake renders and cancels
// real envelopes, so it refuses what a web page can send: a form's content
// type, a request with a browser's Origin or Sec-Fetch-Site, and a Host
// naming another site (DNS rebinding). Each refusal is logged with its
// reason.
func TestIntakeRefusesBrowsersAndRebinding(t *testing.T) {
	var logs syncbuf.Buffer
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	base := s.URL(service.Admin)
	_, port, _ := strings.Cut(s.Addr(), ":")
	json := "application/json"
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"a program", map[string]string{"Content-Type": json}, 202},
		{"with a charset", map[string]string{"Content-Type": json + "; charset=utf-8"}, 202},
		{"localhost", map[string]string{"Content-Type": json, "Host": "localhost:" + port}, 202},
		{"typed into the address bar", map[string]string{"Content-Type": json, "Sec-Fetch-Site": "none"}, 202},
		{"no content type", nil, 415},
		{"a form's content type", map[string]string{"Content-Type": "text/plain"}, 415},
		{"a form post", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"an Origin", map[string]string{"Content-Type": json, "Origin": "https://evil.example"}, 403},
		{"cross-site", map[string]string{"Content-Type": json, "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site", map[string]string{"Content-Type": json, "Sec-Fetch-Site": "same-site"}, 403},
		{"same-origin", map[string]string{"Content-Type": json, "Sec-Fetch-Site": "same-origin"}, 403},
		{"DNS rebinding", map[string]string{"Content-Type": json, "Host": "evil.example:" + port}, 403},
		{"another address", map[string]string{"Content-Type": json, "Host": "10.0.0.1:" + port}, 403},
	} {
		if got := post(t, base, tt.headers); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	for _, reason := range []string{"reason=content-type", "reason=browser", "reason=host"} {
		if !strings.Contains(logs.String(), reason) {
			t.Errorf("no refusal logged with %s:\n%s", reason, logs.String())
		}
	}
}

// TestIntakeToken: with a token hash configured, the intake takes only
// requests that carry the token.
func TestIntakeToken(t *testing.T) {
	token, hash := pull.NewToken()
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), IntakeTokenSHA256: hash,
		Logger: slog.New(slog.DiscardHandler)}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	base := s.URL(service.Admin)
	json := "application/json"
	if got := post(t, base, map[string]string{"Content-Type": json}); got != 401 {
		t.Errorf("no token: %d, want 401", got)
	}
	if got := post(t, base, map[string]string{"Content-Type": json, "Authorization": "Bearer qs_wrong"}); got != 401 {
		t.Errorf("a wrong token: %d, want 401", got)
	}
	if err := (service.IntakeClient{BaseURL: base}).Submit(t.Context(), pipeline.KindCancel, "", []byte(cancelBody)); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Errorf("IntakeClient without the token: %v", err)
	}
	if err := (service.IntakeClient{BaseURL: base, Token: token}).Submit(t.Context(), pipeline.KindCancel, "", []byte(cancelBody)); err != nil {
		t.Errorf("IntakeClient with the token: %v", err)
	}
}
