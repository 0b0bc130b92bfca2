package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/status/statusapi"
	"github.com/quire-print/quire/pipeline/storage/refindex"
)

// TestStatusAPIOnTheAdminListener: with a tokens file and a reference key,
// the worker indexes what it stores and the admin listener answers where
// an envelope is, by id or reference, to the token only.
func TestStatusAPIOnTheAdminListener(t *testing.T) {
	dir := t.TempDir()
	token, hash := bearer.New("qi_")
	tokens := filepath.Join(dir, "tokens")
	key := filepath.Join(dir, "reference.key")
	if err := os.WriteFile(tokens, []byte("contact-centre:"+hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(strings.Repeat("k", refindex.MinKeyLen)), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := service.New(service.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"), OnEvent: rec.on,
		StatusTokensFile: tokens, ReferenceKeyFile: key}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + s.Addr()
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	id := service.EnvelopeID(body)
	if err := (service.IntakeClient{BaseURL: base}).Submit(ctx, pipeline.KindRender, id, body); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 10*time.Second, "the rendered event", func() bool { return rec.find(events.TypeRendered, id) })

	show := base + statusapi.BasePath + "/envelopes/" + id
	if code, _ := do(t, http.DefaultClient, "GET", show, ""); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, _ := do(t, http.DefaultClient, "GET", show, "qi_wrong"); code != 401 {
		t.Errorf("wrong token: %d, want 401", code)
	}
	if code, body := do(t, http.DefaultClient, "GET", show, token); code != 200 || !strings.Contains(body, `"state":"rendered"`) {
		t.Errorf("right token: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", base+statusapi.BasePath+"/envelopes/lookup", bytes.NewReader([]byte(`{"reference":"BLC-2025-000202"}`)))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var res statusapi.LookupResult
	if err := json.Unmarshal(data, &res); resp.StatusCode != 200 || err != nil || len(res.Envelopes) != 1 || res.Envelopes[0].EnvelopeID != id {
		t.Errorf("lookup by the second twin's reference: %d %v %s", resp.StatusCode, err, data)
	}
}

func TestStatusAPIConfiguration(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	_ = os.WriteFile(short, []byte("short"), 0o600)
	for _, c := range []struct {
		cfg  service.Config
		want string
	}{
		{service.Config{Listen: "127.0.0.1:0", DataDir: dir, StatusTokensFile: filepath.Join(dir, "missing")}, "status API: token file"},
		{service.Config{Listen: "127.0.0.1:0", DataDir: dir, ReferenceKeyFile: short}, "at least 32 bytes"},
		{service.Config{Listen: "127.0.0.1:0", DataDir: dir, StatusTokensFile: "x", Admin: service.Listener{Addr: service.ListenerOff}}, "admin listener is off"},
	} {
		if _, err := service.New(c.cfg, fakeRenderer{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
