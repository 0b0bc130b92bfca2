//go:build integration

package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
	"github.com/quire-print/quire/pipeline/service"
	"github.com/quire-print/quire/pipeline/service/servicetest"
	"github.com/quire-print/quire/pipeline/storage"
	"github.com/quire-print/quire/pipeline/storage/envelopes"
	"github.com/quire-print/quire/pipeline/storage/s3store"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
	"github.com/quire-print/quire/pipeline/worker"
)

// Short retry delays keep the fault tests quick; they are in the queue
// names, so each test's prefix gets its own.
var testDelays = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}

func requestBody(t *testing.T, id string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "requests", "valid", "twins.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["envelopeId"] = id
	out, _ := json.Marshal(m)
	return out
}

// startService runs a service on RabbitMQ under prefix and the S3 store
// cfg, stopping it (and checking it stopped cleanly) when the test ends.
func startService(t *testing.T, prefix string, s3 s3store.Config) *service.Service {
	t.Helper()
	s, err := service.New(service.Config{
		AMQPURL: servicetest.AMQPURL(t), Prefix: prefix, RetryDelays: testDelays, S3: s3,
		Listen: "127.0.0.1:0", Concurrency: 4, Prefetch: 8,
	}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Error("the service did not stop within a minute")
		}
	})
	return s
}

func publishAll(t *testing.T, up *servicetest.Upstream, ids []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range ids {
		if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: id, Body: requestBody(t, id)}); err != nil {
			t.Fatal(err)
		}
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return out
}

// countRecords counts committed envelopes in the store, by listing it.
func countRecords(t *testing.T, st storage.Store) int {
	t.Helper()
	n := 0
	for info, err := range st.List(context.Background(), envelopes.EnvelopesPrefix) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(info.Key, "/record.json") {
			n++
		}
	}
	return n
}

func readyz(t *testing.T, s *service.Service) (int, string) {
	return get(t, "http://"+s.Addr()+"/readyz")
}

func TestEndToEndOnRabbitMQAndMinIO(t *testing.T) {
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	s3 := s3test.Config(t)
	svc := startService(t, prefix, s3)
	good := ids("e2e", 10)
	publishAll(t, up, good)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := requestBody(t, "e2e-bad")
	bad = []byte(strings.Replace(string(bad), "CT1 2HX", "NOT A POSTCODE", 1))
	if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: "e2e-bad", Body: bad}); err != nil {
		t.Fatal(err)
	}
	if err := up.Broker.Publish(ctx, pipeline.KindCancel, []byte(`{"schemaVersion":1,"envelopeId":"e2e-late","code":"requested-by-parent"}`)); err != nil {
		t.Fatal(err)
	}
	up.WaitSettled(append(append([]string{}, good...), "e2e-bad", "e2e-late"), time.Minute)
	// The late envelope arrives after its cancel: never rendered.
	if err := up.Broker.PublishMessage(ctx, broker.Message{Kind: pipeline.KindRender, MessageID: "e2e-late", Body: requestBody(t, "e2e-late")}); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, time.Minute, "the late envelope to be settled", func() bool {
		up.Drain()
		return len(up.Settled()["e2e-late"]) >= 2
	})

	up.CheckRenderedOnce(good)
	store := s3test.New(t, s3)
	envs := envelopes.New(store)
	for _, id := range good {
		rec, err := envs.Record(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if err := envs.Verify(ctx, rec); err != nil {
			t.Error(err)
		}
	}
	if n := countRecords(t, store); n != len(good) {
		t.Errorf("%d records in S3, want %d", n, len(good))
	}
	settled := up.Settled()
	if got := strings.Join(settled["e2e-late"], ","); got != "envelope.cancelled,envelope.cancelled" {
		t.Errorf("late envelope events %s, want cancelled twice", got)
	}
	var rejected events.Event
	for _, r := range up.Events() {
		if r.Event.Type == events.TypeRejected {
			rejected = r.Event
		}
	}
	if rejected.EnvelopeID != "e2e-bad" || rejected.Reason.Code != worker.CodeInvalidRequest || len(rejected.Reason.Fields) == 0 {
		t.Errorf("rejected event %+v, want e2e-bad with its field errors", rejected)
	}

	// The invalid request waits in the dead-letter queue with its reason.
	conn, err := amqp.Dial(servicetest.AMQPURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(prefix+".dead", true)
	if err != nil || !ok {
		t.Fatalf("dead-letter queue: %v, %v", ok, err)
	}
	reason, ok := broker.DeadLetterReason(d.Headers)
	if !ok || reason.Code != worker.CodeInvalidRequest || d.MessageId != "e2e-bad" || len(reason.Fields) == 0 {
		t.Errorf("dead letter %s: reason %+v", d.MessageId, reason)
	}
	if _, ok, _ := ch.Get(prefix+".dead", true); ok {
		t.Error("more than one dead letter")
	}

	if code, body := readyz(t, svc); code != 200 {
		t.Errorf("/readyz %d %q", code, body)
	}
	_, metrics := get(t, "http://"+svc.Addr()+"/metrics")
	for _, want := range []string{"quire_envelopes_rendered_total 10", `quire_envelopes_rejected_total{reason="invalid-request"} 1`,
		`quire_queue_messages{queue="render"} 0`, "quire_queue_up 1"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestSurvivesRabbitMQRestart restarts RabbitMQ while the service works
// through a backlog: every envelope ends up stored once and announced.
func TestSurvivesRabbitMQRestart(t *testing.T) {
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	s3 := s3test.Config(t)
	svc := startService(t, prefix, s3)
	before, after := ids("rmq", 400), ids("rmq-after", 50)
	publishAll(t, up, before)

	waitfor.True(t, time.Minute, "20 envelopes to be rendered", func() bool {
		up.Drain()
		return len(up.Settled()) >= 20
	})
	start := servicetest.StopRabbitMQ(t)
	waitReadyz(t, svc, "broker: not ready")
	start()
	publishAll(t, up, after)
	all := append(before, after...)
	up.WaitSettled(all, 3*time.Minute)

	up.CheckRenderedOnce(all)
	if n := countRecords(t, s3test.New(t, s3)); n != len(all) {
		t.Errorf("%d records, want %d", n, len(all))
	}
	if n := up.DeadLetters(); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	// The consumer reconnects on its own backoff; wait for it to count.
	waitfor.True(t, time.Minute, "reconnects to be counted", func() bool {
		_, metrics := get(t, "http://"+svc.Addr()+"/metrics")
		return strings.Contains(metrics, "\nquire_broker_reconnects_total ") && !strings.Contains(metrics, "\nquire_broker_reconnects_total 0\n")
	})
	t.Logf("%d events for %d envelopes", len(up.Events()), len(all))
}

// TestSurvivesMinIOOutage stops the service's own MinIO mid-run: the
// service stops taking work, says storage is not ready, and resumes by
// itself once MinIO is back, with every envelope stored once.
func TestSurvivesMinIOOutage(t *testing.T) {
	m := s3test.StartMinIO(t)
	s3 := m.Config()
	s3.MaxAttempts, s3.DialTimeout, s3.ResponseTimeout = 1, time.Second, 5*time.Second // fail fast while MinIO is down
	survivesStoreOutage(t, s3, m.Kill, m.Start)
}

// TestSurvivesHungMinIO stops the service's own MinIO with SIGSTOP mid-run:
// connections are still accepted and nothing answers. The request timeout,
// not the much longer work timeout, fails the calls, so the storage gate
// closes as it does for a refused connection, with the default response
// timeout and retries.
func TestSurvivesHungMinIO(t *testing.T) {
	m := s3test.StartMinIO(t)
	s3 := m.Config()
	s3.RequestTimeout = 2 * time.Second
	paused := false
	t.Cleanup(func() {
		if paused {
			m.Resume()
		}
	})
	survivesStoreOutage(t, s3, func() { m.Pause(); paused = true }, func() { m.Resume(); paused = false })
}

// survivesStoreOutage runs envelopes through a service on s3, calling stop
// once some are stored and start once the gate has closed.
func survivesStoreOutage(t *testing.T, s3 s3store.Config, stop, start func()) {
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	svc := startService(t, prefix, s3)
	all := ids("minio", 80)
	before, during := all[:40], all[40:]
	publishAll(t, up, before)

	waitfor.True(t, time.Minute, "10 envelopes to be rendered", func() bool {
		up.Drain()
		return len(up.Settled()) >= 10
	})
	stop()
	// Published only now, so that there is work to fail on however fast
	// the first half went: the gate closes on a failed store, not on the
	// outage itself.
	publishAll(t, up, during)
	waitReadyz(t, svc, "storage: not ready")
	waitMetric(t, svc, "quire_storage_gate_open 0")
	start()
	up.WaitSettled(all, 3*time.Minute)
	waitMetric(t, svc, "quire_storage_gate_open 1")

	up.CheckRenderedOnce(all)
	store, err := s3store.New(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRecords(t, store); n != len(all) {
		t.Errorf("%d records, want %d", n, len(all))
	}
	if n := up.DeadLetters(); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
}

// A service started while its storage is down waits for it instead of
// exiting: /readyz names storage, nothing is consumed, and once MinIO is
// up the envelopes go through, each once.
func TestStartsBeforeMinIO(t *testing.T) {
	m := s3test.StartMinIO(t)
	m.Kill()
	s3 := m.Config()
	s3.MaxAttempts, s3.DialTimeout, s3.ResponseTimeout = 1, time.Second, 5*time.Second
	prefix := servicetest.Prefix(t, testDelays)
	up := servicetest.NewUpstream(t, prefix, testDelays)
	svc := startService(t, prefix, s3)
	all := ids("late", 20)
	publishAll(t, up, all)

	waitReadyz(t, svc, "storage: not ready")
	waitMetric(t, svc, "quire_storage_gate_open 0")
	// Consuming starts only once storage answers: the counter, there at 0
	// from the start, is still 0.
	if _, body := get(t, "http://"+svc.Addr()+"/metrics"); !strings.Contains(body, `quire_envelopes_consumed_total{kind="render"} 0`) {
		t.Errorf("envelopes were consumed before storage answered:\n%s", body)
	}
	select {
	case <-svc.StorageReady():
		t.Error("StorageReady closed before storage answered")
	default:
	}
	m.Start()
	up.WaitSettled(all, 2*time.Minute)
	up.CheckRenderedOnce(all)
	waitMetric(t, svc, "quire_storage_gate_open 1")
	select {
	case <-svc.StorageReady():
	default:
		t.Error("StorageReady not closed once envelopes were consumed")
	}
	if code, body := readyz(t, svc); code != 200 {
		t.Errorf("/readyz once storage is up: %d %q", code, body)
	}
	store, err := s3store.New(context.Background(), s3)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRecords(t, store); n != len(all) {
		t.Errorf("%d records, want %d", n, len(all))
	}
}

// A refusal that waiting would not change ends Run with an error that
// says what is wrong, rather than waiting for ever.
func TestStorageRefusedAtStart(t *testing.T) {
	s3 := s3test.Config(t)
	s3.CreateBucket = false // and the test's bucket does not exist
	svc, err := service.New(service.Config{
		AMQPURL: servicetest.AMQPURL(t), Prefix: servicetest.Prefix(t, testDelays), RetryDelays: testDelays, S3: s3,
		Listen: "127.0.0.1:0",
	}, fakeRenderer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = svc.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), s3.Bucket) {
		t.Errorf("Run with a missing bucket = %v, want an error naming it", err)
	}
	if ctx.Err() != nil {
		t.Error("Run waited for a bucket that nothing would create")
	}
	select {
	case <-svc.StorageReady():
		t.Error("StorageReady closed although storage refused")
	default:
	}
}

func waitReadyz(t *testing.T, s *service.Service, want string) {
	t.Helper()
	waitfor.Until(t, time.Minute, func() error {
		if code, body := readyz(t, s); code != 503 || !strings.Contains(body, want) {
			return fmt.Errorf("/readyz did not say %q; last %d %q", want, code, body)
		}
		return nil
	})
}

func waitMetric(t *testing.T, s *service.Service, want string) {
	t.Helper()
	waitfor.True(t, time.Minute, fmt.Sprintf("/metrics to show %q", want), func() bool {
		_, body := get(t, "http://"+s.Addr()+"/metrics")
		return strings.Contains(body, want+"\n")
	})
}
