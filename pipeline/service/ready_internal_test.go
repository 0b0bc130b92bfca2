package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quire-print/quire/pipeline/broker"
	"github.com/quire-print/quire/pipeline/health"
)

// /readyz names what failed with the broker, in Quire's words, never the
// dial error's text (which names hosts).
func TestBrokerReadinessSaysWhatFailed(t *testing.T) {
	for err, want := range map[error]string{
		broker.ErrBlocked: "broker: not ready: publishing blocked by a resource alarm",
		fmt.Errorf("broker: %w: %w", broker.ErrUnreachable, errors.New("dial tcp 10.0.0.7:5672: connect: connection refused")): "broker: not ready: cannot connect",
	} {
		r := health.Readiness{Checks: []health.Check{{Name: "broker", Ping: func(context.Context) error { return brokerReason(err) }}}}
		lines, ok := r.Run(context.Background())
		if ok || strings.Join(lines, "\n") != want {
			t.Errorf("%v: %q, want %q", err, lines, want)
		}
	}
}
