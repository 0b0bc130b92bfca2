package broker

import (
	"encoding/json"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/quire-print/quire/pipeline"
)

// Message headers Quire sets. None carries personal data: reasons and
// retry reasons are codes and short explanations, by the contract of
// pipeline.Reason and Delivery.Retry.
const (
	// HeaderAttempt is the attempt number (1 the first time), set when a
	// message goes round the retry path. Absent means 1.
	HeaderAttempt = "x-quire-attempt"
	// HeaderRetryReason is the reason given to the last Retry.
	HeaderRetryReason = "x-quire-retry-reason"
	// HeaderReason is the JSON of the pipeline.Reason a dead letter was
	// rejected with.
	HeaderReason = "x-quire-reason"
	// HeaderReasonCode is pipeline.Reason.Code on its own, for filtering
	// dead letters without parsing JSON.
	HeaderReasonCode = "x-quire-reason-code"
	// HeaderOriginQueue is the work queue a dead letter was rejected from.
	HeaderOriginQueue = "x-quire-origin-queue"
	// HeaderDeadLetteredAt is when it was dead-lettered (RFC 3339, UTC).
	HeaderDeadLetteredAt = "x-quire-dead-lettered-at"
)

// maxAttempt caps a parsed attempt so that a hostile header cannot make
// the arithmetic overflow.
const maxAttempt = 1 << 20

// attemptOf reads HeaderAttempt, whatever integer type the publisher used.
// A missing or unreadable header counts as the first attempt: a bad header
// must never stop a message from being handled.
func attemptOf(h amqp.Table) int {
	var n int64
	switch v := h[HeaderAttempt].(type) {
	case int8:
		n = int64(v)
	case int16:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case int:
		n = int64(v)
	case uint8:
		n = int64(v)
	case uint16:
		n = int64(v)
	case uint32:
		n = int64(v)
	case string:
		n, _ = strconv.ParseInt(v, 10, 64)
	}
	return int(min(max(n, 1), maxAttempt))
}

// copyHeaders returns the headers to carry over when republishing a
// delivery: the original ones minus those the broker or Quire will set
// afresh.
func copyHeaders(h amqp.Table) amqp.Table {
	out := amqp.Table{}
	for k, v := range h {
		switch k {
		case "x-delivery-count", HeaderReason, HeaderReasonCode, HeaderOriginQueue, HeaderDeadLetteredAt:
			continue
		}
		out[k] = v
	}
	return out
}

// DeadLetterReason says why a message in the dead-letter queue is there,
// from its headers. A message Quire rejected carries HeaderReason. One that
// RabbitMQ dead-lettered itself (over the delivery limit, say) carries only
// x-death; its newest entry gives the reason, mapped to a code:
// "delivery-limit", "expired", "rejected" or "queue-full". ok is false
// when the headers say nothing usable.
func DeadLetterReason(h amqp.Table) (r pipeline.Reason, ok bool) {
	switch v := h[HeaderReason].(type) {
	case string:
		if json.Unmarshal([]byte(v), &r) == nil && r.Code != "" {
			return r, true
		}
	case []byte:
		if json.Unmarshal(v, &r) == nil && r.Code != "" {
			return r, true
		}
	}
	deaths, _ := h["x-death"].([]any)
	if len(deaths) == 0 {
		return pipeline.Reason{}, false
	}
	// RabbitMQ keeps the newest death first.
	death, _ := deaths[0].(amqp.Table)
	why, _ := death["reason"].(string)
	queue, _ := death["queue"].(string)
	code := map[string]string{
		"delivery_limit": "delivery-limit",
		"expired":        "expired",
		"rejected":       "rejected",
		"maxlen":         "queue-full",
	}[why]
	if code == "" {
		return pipeline.Reason{}, false
	}
	detail := "dead-lettered by RabbitMQ"
	if queue != "" {
		detail += " from " + queue
	}
	return pipeline.Reason{Code: code, Detail: detail}, true
}

// kindOf is a delivery's kind: the AMQP type property, which Quire always
// sets, or else the routing key, which is the kind for messages that
// upstream published without a type.
func kindOf(d amqp.Delivery) string {
	if d.Type != "" {
		return d.Type
	}
	return d.RoutingKey
}
