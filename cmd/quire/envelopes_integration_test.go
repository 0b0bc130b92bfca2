//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quire-print/quire/internal/bearer"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/batch"
	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/batch/schedule"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/status/statusapi"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/supplier/adapters"
	"github.com/quire-print/quire/pipeline/supplier/pull"
)

// TestEnvelopesShowOnRabbitMQAndMinIO: "where is my certificate?" as
// support asks it, of an envelope that went through the real worker on
// RabbitMQ, a cut-off on MinIO and the supplier's reports: quire envelopes
// show by id and by certificate reference, and the status API on quire
// serve's admin listener. Run with -v, it prints what docs/support.md
// shows.
func TestEnvelopesShowOnRabbitMQAndMinIO(t *testing.T) {
	ctx := t.Context()
	s3 := s3test.Config(t)
	store := s3test.New(t, s3)
	prefix := servicetest.Prefix(t, []time.Duration{time.Second})
	up := servicetest.NewUpstream(t, prefix, []time.Duration{time.Second})
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	keyFile, tokensFile := filepath.Join(dir, "reference.key"), filepath.Join(dir, "status-tokens")
	if err := os.WriteFile(keyFile, []byte("J9v6m3h0bq2K8xS1fWcT4zR7uY5eN2aL0pD6gH3jQ8o=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token, hash := bearer.New("qi_")
	if err := os.WriteFile(tokensFile, []byte("contact-centre:"+hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r, err := service.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{AMQPURL: servicetest.AMQPURL(t), Prefix: prefix, S3: s3, Listen: "127.0.0.1:0",
		Logger: log, ReferenceKeyFile: keyFile, StatusTokensFile: tokensFile}, r)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopService := context.WithCancel(ctx)
	serviceDone := make(chan error)
	go func() { serviceDone <- svc.Run(runCtx) }()
	defer func() { stopService(); <-serviceDone }()

	data, err := os.ReadFile(filepath.Join(batchtest.Root(), "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	id := service.EnvelopeID(data)
	if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: id, Body: data}); err != nil {
		t.Fatal(err)
	}
	up.WaitSettled([]string{id}, time.Minute)

	sched, err := schedule.New(schedule.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := sched.Next(time.Now())
	clock := memqueue.NewManualClock(c.Add(time.Second))
	keeper, err := retention.New(retention.Config{Store: store, Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := adapters.Build(adapters.Config{Supplier: "northprint"}, store, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.New(batch.Config{Store: store, Schedule: sched, Assembler: &batchtest.Assembler{Store: store}, Supplier: sender,
		Events: svc.Events(), Retention: keeper, Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.CutOff(ctx, c)
	if err != nil || len(res.Batches) != 1 {
		t.Fatalf("cut-off: %+v %v", res, err)
	}
	batchID := res.Batches[0].BatchID
	clock.Advance(time.Minute)
	if _, err := b.HandOffPending(ctx); err != nil {
		t.Fatal(err)
	}
	supplierToken, supplierHash := pull.NewToken()
	api, err := pull.New(pull.Config{Store: store, Events: svc.Events(), Retention: keeper, Clock: clock, Logger: log,
		Suppliers: []pull.Credentials{{Supplier: "northprint", TokenSHA256: []string{supplierHash}}}})
	if err != nil {
		t.Fatal(err)
	}
	supplier := httptest.NewServer(api)
	defer supplier.Close()
	post := func(url, tok string, body any) (int, []byte) {
		t.Helper()
		js, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(js))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	base := supplier.URL + pull.BasePath + "/batches/" + batchID
	clock.Advance(47 * time.Minute)
	post(base+"/receipt", supplierToken, nil)
	clock.Advance(14*time.Hour + 12*time.Minute)
	post(base+"/outcomes", supplierToken, map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: id, Outcome: "printed", At: clock.Now()}}})
	clock.Advance(4*time.Hour + 5*time.Minute)
	if status, out := post(base+"/outcomes", supplierToken, map[string]any{"outcomes": []pull.Report{{Sequence: 1, EnvelopeID: id, Outcome: "posted", At: clock.Now()}}}); status != 200 {
		t.Fatalf("outcomes: %d %s", status, out)
	}

	flags := []string{"--s3-endpoint", s3.Endpoint, "--s3-bucket", s3.Bucket, "--s3-disable-tls",
		"--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey, "--reference-key-file", keyFile}
	show := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := runEnvelopes(ctx, append(append([]string{}, flags...), args...), &stdout, &stderr); code != 0 {
			t.Fatalf("quire envelopes %v: exit %d\n%s", args, code, stderr.String())
		}
		t.Logf("$ quire envelopes %s\n%s", strings.Join(args, " "), stdout.String())
		batchtest.CheckNoPersonalData(t, "quire envelopes show", stdout.String())
		return stdout.String()
	}
	byID := show("show", id)
	for _, want := range []string{"where          Posted on ", "handed-over  first print  " + batchID + "  1    northprint", "received", "printed", "posted",
		"certificate-2.pdf  certificate  baby-loss-certificate@1"} {
		if !strings.Contains(byID, want) {
			t.Errorf("show %s lacks %q", id, want)
		}
	}
	byRef := show("show", "--reference", "blc-2025-000202")
	if !strings.HasPrefix(byRef, "1 envelope(s) hold a certificate with this reference\n") || !strings.Contains(byRef, byID) ||
		strings.Contains(byRef, "BLC-2025") {
		t.Errorf("show --reference:\n%s", byRef)
	}

	// The same from the status API, as a support tool asks it.
	admin := "http://" + svc.Addr() + statusapi.BasePath + "/envelopes/lookup"
	if status, _ := post(admin, "", map[string]string{"reference": "BLC-2025-000202"}); status != 401 {
		t.Errorf("the status API without a token: %d", status)
	}
	status, out := post(admin, token, map[string]string{"reference": "BLC-2025-000202"})
	var found statusapi.LookupResult
	if err := json.Unmarshal(out, &found); status != 200 || err != nil || len(found.Envelopes) != 1 || found.Envelopes[0].State != "posted" {
		t.Errorf("the status API: %d %v %s", status, err, out)
	}
	t.Logf("POST %s {\"reference\": …}\n%s", statusapi.BasePath+"/envelopes/lookup", out)
}
