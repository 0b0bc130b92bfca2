package retention

import (
	"testing"
	"time"
)

func TestAgeDays(t *testing.T) {
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		created, due string
		want         int
	}{
		{"2026-03-02T10:00:00Z", "2026-04-01T10:00:00Z", 30}, // expires at midnight starting 2 April: not early
		{"2026-03-02T00:00:00Z", "2026-04-01T00:00:00Z", 30}, // exactly
		{"2026-03-02T10:00:00Z", "2026-04-01T00:00:00Z", 29}, // 10:00 + 29d rounds up to 1 April 00:00, exactly due
		{"2026-03-02T10:00:00Z", "2026-03-31T23:59:59Z", 29}, // 29d ends 31 March 10:00, rounds to 1 April 00:00
		{"2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", 1},
	}
	for _, tt := range tests {
		c, d := utc(tt.created), utc(tt.due)
		got := ageDays(c, d)
		if got != tt.want {
			t.Errorf("ageDays(%s, %s) = %d, want %d", tt.created, tt.due, got, tt.want)
		}
		if expiresAt(c, got).Before(d) {
			t.Errorf("%s + %dd expires at %s, before %s", tt.created, got, expiresAt(c, got), tt.due)
		}
		if got > 1 && !expiresAt(c, got-1).Before(d) {
			t.Errorf("%s: %dd is not the smallest age", tt.created, got)
		}
	}
}
