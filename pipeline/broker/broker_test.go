package broker

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/pipeline"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/request"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, "URL is required"},
		{"not amqp", Config{URL: "http://localhost"}, "amqp:// or amqps://"},
		{"negative concurrency", Config{URL: "amqp://h/", Concurrency: -1}, "Concurrency cannot be negative (got -1)"},
		{"prefetch below concurrency", Config{URL: "amqp://h/", Concurrency: 8, Prefetch: 2}, "Prefetch (2) cannot be smaller than Concurrency (8)"},
		{"prefetch below default concurrency", Config{URL: "amqp://h/", Prefetch: 2}, "Prefetch (2) cannot be smaller than Concurrency (4)"},
		{"sub-millisecond delay", Config{URL: "amqp://h/", RetryDelays: []time.Duration{time.Second, 1500 * time.Microsecond}}, "RetryDelays[1] must be a whole number of milliseconds"},
		{"zero delay", Config{URL: "amqp://h/", RetryDelays: []time.Duration{0}}, "RetryDelays[0]"},
		{"backoff inverted", Config{URL: "amqp://h/", ReconnectMin: time.Minute, ReconnectMax: time.Second}, "ReconnectMax (1s) cannot be shorter than ReconnectMin (1m0s)"},
		{"negative limit", Config{URL: "amqp://h/", DeliveryLimit: -1}, "DeliveryLimit cannot be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := New(Config{URL: "amqp://guest:guest@127.0.0.1:5672/"}); err != nil {
		t.Errorf("minimal config rejected: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	b, err := New(Config{URL: "amqp://h/", Concurrency: 6})
	if err != nil {
		t.Fatal(err)
	}
	if b.cfg.Prefetch != 6 || b.cfg.DeliveryLimit != 5 || b.cfg.Prefix != "quire" {
		t.Errorf("defaults: %+v", b.cfg)
	}
	if !slices.Equal(DefaultRetryDelays, memqueue.DefaultRetryDelays) {
		t.Errorf("broker and memqueue retry schedules differ: %v vs %v", DefaultRetryDelays, memqueue.DefaultRetryDelays)
	}
}

func TestTopologyNames(t *testing.T) {
	b, err := New(Config{URL: "amqp://h/"})
	if err != nil {
		t.Fatal(err)
	}
	topo := b.Topology()
	want := Topology{
		Requests:         "quire.requests",
		RequestsUnrouted: "quire.requests.unrouted",
		Render:           "quire.render",
		Cancel:           "quire.cancel",
		Dead:             "quire.dead",
		Events:           "quire.events",
		EventsUnrouted:   "quire.events.unrouted",
		Retry: []RetryStep{
			{time.Second, "quire.retry.1s"}, {5 * time.Second, "quire.retry.5s"}, {30 * time.Second, "quire.retry.30s"},
			{2 * time.Minute, "quire.retry.2m"}, {10 * time.Minute, "quire.retry.10m"},
		},
	}
	if !slices.Equal(topo.Retry, want.Retry) {
		t.Errorf("retry steps = %v, want %v", topo.Retry, want.Retry)
	}
	topo.Retry, want.Retry = nil, nil
	if !reflect.DeepEqual(topo, want) {
		t.Errorf("Topology = %+v, want %+v", topo, want)
	}
	b, _ = New(Config{URL: "amqp://h/", Prefix: "t1", RetryDelays: []time.Duration{}})
	if len(b.Topology().Retry) != 0 || b.Topology().Render != "t1.render" {
		t.Errorf("empty RetryDelays or prefix not honoured: %+v", b.Topology())
	}
}

func TestDelayName(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1s", 90 * time.Second: "90s", 2 * time.Minute: "2m", time.Hour: "1h",
		1500 * time.Millisecond: "1500ms", 100 * time.Millisecond: "100ms", 36 * time.Hour: "36h",
	} {
		if got := delayName(d); got != want {
			t.Errorf("delayName(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAttemptOf(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want int
	}{
		{nil, 1}, {int32(3), 3}, {int64(4), 4}, {int8(2), 2}, {int16(5), 5}, {uint8(6), 6}, {"7", 7},
		{"seven", 1}, {int32(0), 1}, {int32(-9), 1}, {int64(1) << 40, maxAttempt}, {[]byte("2"), 1}, {3.5, 1},
	} {
		h := amqp.Table{}
		if tc.v != nil {
			h[HeaderAttempt] = tc.v
		}
		if got := attemptOf(h); got != tc.want {
			t.Errorf("attemptOf(%#v) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if attemptOf(nil) != 1 {
		t.Error("attemptOf(nil table) != 1")
	}
}

func TestDeadLetterReason(t *testing.T) {
	death := func(reason, queue string) amqp.Table {
		return amqp.Table{"reason": reason, "queue": queue, "count": int64(1)}
	}
	tests := []struct {
		name string
		h    amqp.Table
		want pipeline.Reason
		ok   bool
	}{
		{"quire reason", amqp.Table{HeaderReason: `{"code":"invalid-request","detail":"2 problems","fields":[{"field":"a","problem":"b"}]}`},
			pipeline.Reason{Code: "invalid-request", Detail: "2 problems", Fields: []request.FieldError{{Field: "a", Problem: "b"}}}, true},
		{"quire reason as bytes", amqp.Table{HeaderReason: []byte(`{"code":"malformed"}`)}, pipeline.Reason{Code: "malformed"}, true},
		{"quire reason wins over x-death", amqp.Table{HeaderReason: `{"code":"malformed"}`, "x-death": []any{death("expired", "q.retry.1s")}},
			pipeline.Reason{Code: "malformed"}, true},
		{"delivery limit, newest death first", amqp.Table{"x-death": []any{death("delivery_limit", "q.render"), death("expired", "q.retry.1s")}},
			pipeline.Reason{Code: "delivery-limit", Detail: "dead-lettered by RabbitMQ from q.render"}, true},
		{"garbage JSON falls back to x-death", amqp.Table{HeaderReason: "{", "x-death": []any{death("maxlen", "")}},
			pipeline.Reason{Code: "queue-full", Detail: "dead-lettered by RabbitMQ"}, true},
		{"unknown death reason", amqp.Table{"x-death": []any{death("gremlins", "q")}}, pipeline.Reason{}, false},
		{"nothing", amqp.Table{}, pipeline.Reason{}, false},
		{"x-death wrong type", amqp.Table{"x-death": "no"}, pipeline.Reason{}, false},
		{"x-death entry wrong type", amqp.Table{"x-death": []any{"no"}}, pipeline.Reason{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DeadLetterReason(tc.h)
			if ok != tc.ok || got.Code != tc.want.Code || got.Detail != tc.want.Detail || len(got.Fields) != len(tc.want.Fields) {
				t.Errorf("DeadLetterReason = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestCopyHeadersDropsBrokerAndReasonHeaders(t *testing.T) {
	h := amqp.Table{"x-delivery-count": int64(2), HeaderReason: "{}", HeaderReasonCode: "c", HeaderOriginQueue: "q",
		HeaderDeadLetteredAt: "t", "x-death": []any{}, "traceparent": "00-abc", HeaderAttempt: int32(2)}
	got := copyHeaders(h)
	for _, k := range []string{"x-delivery-count", HeaderReason, HeaderReasonCode, HeaderOriginQueue, HeaderDeadLetteredAt} {
		if _, ok := got[k]; ok {
			t.Errorf("copyHeaders kept %s", k)
		}
	}
	for _, k := range []string{"x-death", "traceparent", HeaderAttempt} {
		if _, ok := got[k]; !ok {
			t.Errorf("copyHeaders dropped %s", k)
		}
	}
}

func TestKindOf(t *testing.T) {
	if k := kindOf(amqp.Delivery{Type: "envelope.render", RoutingKey: "quire.render"}); k != "envelope.render" {
		t.Errorf("kind from type = %q", k)
	}
	if k := kindOf(amqp.Delivery{RoutingKey: "envelope.cancel"}); k != "envelope.cancel" {
		t.Errorf("kind from routing key = %q", k)
	}
}

func TestFatal(t *testing.T) {
	if !fatal(&amqp.Error{Code: amqp.PreconditionFailed}) || !fatal(&amqp.Error{Code: amqp.AccessRefused}) {
		t.Error("406 and 403 should be fatal")
	}
	if fatal(amqp.ErrClosed) || fatal(&amqp.Error{Code: amqp.ConnectionForced}) {
		t.Error("a closed or forced-closed connection is not fatal")
	}
}
