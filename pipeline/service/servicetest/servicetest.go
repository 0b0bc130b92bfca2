// Package servicetest helps integration tests drive a whole Quire against
// the real RabbitMQ and MinIO that scripts/test-services.sh starts: unique
// names per test, an upstream's view of the status events, and stopping
// and starting RabbitMQ. A private MinIO that a test may stop is
// s3test.StartMinIO.
//
// Missing settings fail the test, never skip it: a run with the
// integration tag must not pass by testing nothing.
package servicetest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/internal/waitfor"
	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/events"
)

// AMQPURL is the RabbitMQ under test.
func AMQPURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("QUIRE_TEST_AMQP_URL")
	if u == "" {
		t.Fatal("QUIRE_TEST_AMQP_URL is not set: run ./scripts/test-services.sh and source .test-env (make test does both)")
	}
	return u
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// Prefix returns a RabbitMQ name prefix unique to the test and the run,
// and deletes everything under it when the test ends.
func Prefix(t testing.TB, retryDelays []time.Duration) string {
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	p := "qt-" + name + "-" + strings.ToLower(rand.Text()[:8])
	url := AMQPURL(t)
	t.Cleanup(func() { deleteTopology(t, url, p, retryDelays) })
	return p
}

func deleteTopology(t testing.TB, url, prefix string, delays []time.Duration) {
	b, err := broker.New(broker.Config{URL: url, Prefix: prefix, RetryDelays: delays})
	if err != nil {
		return
	}
	DeleteTopology(t, url, b.Topology(), prefix+".test-events")
}

// DeleteTopology deletes topo's queues and exchanges, and the queues
// named in more, from the RabbitMQ at url; what is already gone is passed
// over. For a test's cleanup: failures are logged, not errors.
func DeleteTopology(t testing.TB, url string, topo broker.Topology, more ...string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	// A failed delete closes the channel; use a fresh one each time.
	do := func(f func(ch *amqp.Channel) error) {
		if ch, err := conn.Channel(); err == nil {
			_ = f(ch)
			_ = ch.Close()
		}
	}
	queues := append([]string{topo.Render, topo.Cancel, topo.Dead, topo.EventsUnrouted}, more...)
	exchanges := []string{topo.Requests, topo.RequestsUnrouted, topo.Dead, topo.Events, topo.EventsUnrouted}
	for _, s := range topo.Retry {
		queues = append(queues, s.Name)
		exchanges = append(exchanges, s.Name)
	}
	for _, q := range queues {
		do(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	}
	for _, e := range exchanges {
		do(func(ch *amqp.Channel) error { return ch.ExchangeDelete(e, false, false) })
	}
}

// Upstream plays the upstream service: it publishes requests through its
// own Broker and reads status events from a durable queue of its own bound
// to the events exchange, so no event is missed across a broker restart.
type Upstream struct {
	t      testing.TB
	url    string
	queue  string
	Broker *broker.Broker

	mu     sync.Mutex
	events []Received
}

// Received is one status event as upstream got it.
type Received struct {
	Event events.Event
	Body  []byte
	// ID is the AMQP message-id it came with: the event's id.
	ID string
}

// NewUpstream declares the topology under prefix, and upstream's events
// queue bound to every event type.
func NewUpstream(t testing.TB, prefix string, retryDelays []time.Duration) *Upstream {
	t.Helper()
	url := AMQPURL(t)
	b, err := broker.New(broker.Config{URL: url, Prefix: prefix, RetryDelays: retryDelays,
		ReconnectMin: 50 * time.Millisecond, ReconnectMax: time.Second, ConnectionName: "quire test upstream"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := b.Depths(ctx); err != nil { // declares the topology
		t.Fatalf("declare topology: %v", err)
	}
	u := &Upstream{t: t, url: url, queue: prefix + ".test-events", Broker: b}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(u.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(u.queue, "envelope.#", b.Topology().Events, false, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

// Drain takes every event waiting in upstream's queue. Connection errors
// (a broker restarting) are not failures: the events stay queued for the
// next Drain.
func (u *Upstream) Drain() {
	conn, err := amqp.Dial(u.url)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for {
		d, ok, err := ch.Get(u.queue, false)
		if err != nil || !ok {
			return
		}
		var e events.Event
		if err := json.Unmarshal(d.Body, &e); err != nil {
			u.t.Errorf("event is not JSON: %v", err)
		}
		if d.RoutingKey != e.Type {
			u.t.Errorf("event %s published with routing key %s", e.Type, d.RoutingKey)
		}
		u.mu.Lock()
		u.events = append(u.events, Received{e, d.Body, d.MessageId})
		u.mu.Unlock()
		if err := d.Ack(false); err != nil {
			return
		}
	}
}

// Events returns the events received so far.
func (u *Upstream) Events() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Received(nil), u.events...)
}

// Settled returns, by envelope id, the types of settling events received
// (rendered, rejected, cancelled), in order. Batching's events, which come
// after, are not among them.
func (u *Upstream) Settled() map[string][]string {
	out := map[string][]string{}
	for _, r := range u.Events() {
		switch r.Event.Type {
		case events.TypeRendered, events.TypeRejected, events.TypeCancelled:
		default:
			continue
		}
		out[r.Event.EnvelopeID] = append(out[r.Event.EnvelopeID], r.Event.Type)
	}
	return out
}

// WaitSettled drains events until every id has a settling event, or fails
// t at the deadline.
func (u *Upstream) WaitSettled(ids []string, within time.Duration) {
	u.t.Helper()
	waitfor.Until(u.t, within, func() error {
		u.Drain()
		settled := u.Settled()
		missing := 0
		for _, id := range ids {
			if len(settled[id]) == 0 {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d envelopes not settled", missing, len(ids))
		}
		return nil
	})
}

// CheckRenderedOnce checks that each id has rendered events only, and that
// repeats of an id's rendered event (allowed: events are at least once)
// are identical, so nothing was rendered twice differently.
func (u *Upstream) CheckRenderedOnce(ids []string) {
	u.t.Helper()
	bodies := map[string]string{}
	for _, r := range u.Events() {
		if r.Event.Type != events.TypeRendered {
			continue
		}
		if prev, ok := bodies[r.Event.EnvelopeID]; ok && prev != string(r.Body) {
			u.t.Errorf("%s announced as rendered twice, differently:\n%s\n%s", r.Event.EnvelopeID, prev, r.Body)
		}
		bodies[r.Event.EnvelopeID] = string(r.Body)
	}
	settled := u.Settled()
	for _, id := range ids {
		for _, typ := range settled[id] {
			if typ != events.TypeRendered {
				u.t.Errorf("%s: %s event, want rendered only", id, typ)
			}
		}
		if _, ok := bodies[id]; !ok {
			u.t.Errorf("%s: no rendered event", id)
		}
	}
}

// DeadLetters returns how many messages wait in the dead-letter queue.
func (u *Upstream) DeadLetters() int {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := u.Broker.Depths(ctx)
	if err != nil {
		u.t.Fatal(err)
	}
	return d.Dead
}

// rabbitmqctl runs rabbitmqctl (QUIRE_TEST_RABBITMQCTL overrides the
// command).
func rabbitmqctl(t testing.TB, args ...string) {
	t.Helper()
	cmd := os.Getenv("QUIRE_TEST_RABBITMQCTL")
	if cmd == "" {
		cmd = "rabbitmqctl"
	}
	out, err := exec.Command(cmd, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// StopRabbitMQ stops the RabbitMQ application and returns a function that
// starts it again. The test's cleanup starts it too, whatever happens, so
// the broker is always left running.
func StopRabbitMQ(t testing.TB) (start func()) {
	t.Helper()
	var once sync.Once
	start = func() {
		once.Do(func() {
			rabbitmqctl(t, "start_app")
			rabbitmqctl(t, "await_startup")
		})
	}
	t.Cleanup(start)
	rabbitmqctl(t, "stop_app")
	return start
}
