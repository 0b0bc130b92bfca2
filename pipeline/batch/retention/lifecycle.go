package retention

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/quire-print/quire/pipeline/storage/s3store"
)

// TagKey is the object tag Lifecycle sets: how many days after its
// creation the object is to be deleted.
const TagKey = "quire-expire-days"

// rulePrefix starts the id of every lifecycle rule Lifecycle installs;
// rules with other ids are left as they are.
const rulePrefix = "quire-retention-"

// DefaultWindow is LifecycleConfig.Window's default.
const DefaultWindow = 60

// LifecycleConfig configures Lifecycle.
type LifecycleConfig struct {
	// S3 is the store's configuration: the same bucket, prefix and
	// credentials. Required.
	S3 s3store.Config
	// Days is the retention period, as in Config. Default 30.
	Days int
	// Window is how many days, beyond Days, an object may wait between its
	// creation and being scheduled (rendering to posting, sealing to
	// hand-over) and still be deleted by a rule: one rule is installed for
	// each age from Days to Days+Window. Older objects are left to the
	// sweep. Default 60; Days+Window cannot exceed 900 (S3 allows 1000
	// rules a bucket, and other rules may be there).
	Window int
}

// Lifecycle marks objects for deletion by the S3 store's lifecycle rules:
// tag based, with S3's standard bucket lifecycle and object tagging
// requests only. S3 counts an expiration in whole days from an object's
// creation, rounded up to the next midnight UTC; an object that must go at
// due is tagged with the smallest such age that is not before due, so it
// is deleted at most a day late and never early. Each rule also expires
// noncurrent versions a day after they become noncurrent, so a versioned
// bucket keeps no copy.
//
// It needs s3:PutLifecycleConfiguration, s3:GetLifecycleConfiguration and
// s3:PutObjectTagging, besides what the store needs.
type Lifecycle struct {
	c      *minio.Client
	bucket string
	prefix string
	lo, hi int
}

// NewLifecycle connects to the bucket and makes sure its lifecycle
// configuration holds Lifecycle's rules, keeping every other rule.
func NewLifecycle(ctx context.Context, cfg LifecycleConfig) (*Lifecycle, error) {
	l, err := NewLifecycleUnchecked(cfg)
	if err != nil {
		return nil, err
	}
	if err := l.Install(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// NewLifecycleUnchecked checks cfg and returns a Lifecycle without sending
// anything to S3: the caller installs the rules with Install when the
// bucket answers, as quire serve does when it starts before its storage.
func NewLifecycleUnchecked(cfg LifecycleConfig) (*Lifecycle, error) {
	if cfg.Days == 0 {
		cfg.Days = DefaultDays
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Days < 0 || cfg.Window < 0 || cfg.Days+cfg.Window > 900 {
		return nil, fmt.Errorf("retention: lifecycle days (%d) and window (%d) must be positive and add up to at most 900", cfg.Days, cfg.Window)
	}
	if cfg.S3.Endpoint == "" || cfg.S3.Bucket == "" {
		return nil, errors.New("retention: lifecycle needs the S3 endpoint and bucket")
	}
	// The store's own client settings: the same timeouts and retries as
	// every other request to the bucket.
	c, err := s3store.NewClient(cfg.S3)
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return &Lifecycle{c: c, bucket: cfg.S3.Bucket, prefix: cfg.S3.Prefix, lo: cfg.Days, hi: cfg.Days + cfg.Window}, nil
}

// RuleID is the id of the rule for objects tagged with age days.
func RuleID(days int) string { return rulePrefix + strconv.Itoa(days) + "d" }

// Install makes sure the bucket's lifecycle configuration holds
// Lifecycle's rules, keeping every other rule. It makes one attempt; its
// error wraps S3's, so s3store.Retryable tells a store that does not
// answer from a refusal. Installing again changes nothing.
func (l *Lifecycle) Install(ctx context.Context) error {
	cfg, err := l.c.GetBucketLifecycle(ctx, l.bucket)
	if err != nil {
		var resp minio.ErrorResponse
		if !errors.As(err, &resp) || resp.Code != "NoSuchLifecycleConfiguration" {
			return fmt.Errorf("retention: reading the bucket's lifecycle rules: %w", err)
		}
		cfg = lifecycle.NewConfiguration()
	}
	cfg.Rules = slices.DeleteFunc(cfg.Rules, func(r lifecycle.Rule) bool { return strings.HasPrefix(r.ID, rulePrefix) })
	for d := l.lo; d <= l.hi; d++ {
		tag := lifecycle.Tag{Key: TagKey, Value: strconv.Itoa(d)}
		filter := lifecycle.Filter{Tag: tag}
		if l.prefix != "" {
			filter = lifecycle.Filter{And: lifecycle.And{Prefix: l.prefix, Tags: []lifecycle.Tag{tag}}}
		}
		cfg.Rules = append(cfg.Rules, lifecycle.Rule{
			ID: RuleID(d), Status: "Enabled", RuleFilter: filter,
			Expiration:                  lifecycle.Expiration{Days: lifecycle.ExpirationDays(d)},
			NoncurrentVersionExpiration: lifecycle.NoncurrentVersionExpiration{NoncurrentDays: 1},
		})
	}
	if err := l.c.SetBucketLifecycle(ctx, l.bucket, cfg); err != nil {
		return fmt.Errorf("retention: installing lifecycle rules: %w", err)
	}
	return nil
}

// Expire implements Tagger.
func (l *Lifecycle) Expire(ctx context.Context, prefix string, due time.Time) (int, error) {
	unmarked := 0
	for o := range l.c.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: l.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return unmarked, fmt.Errorf("retention: listing %s: %w", prefix, o.Err)
		}
		days := ageDays(o.LastModified, due)
		if days > l.hi {
			unmarked++
			continue
		}
		days = max(days, l.lo) // an object scheduled at creation still waits the full period
		t, err := tags.NewTags(map[string]string{TagKey: strconv.Itoa(days)}, true)
		if err != nil {
			return unmarked, fmt.Errorf("retention: %w", err)
		}
		if err := l.c.PutObjectTagging(ctx, l.bucket, o.Key, t, minio.PutObjectTaggingOptions{}); err != nil {
			var resp minio.ErrorResponse
			if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
				continue // deleted meanwhile
			}
			return unmarked, fmt.Errorf("retention: tagging an object under %s: %w", prefix, err)
		}
	}
	return unmarked, nil
}

// ageDays is the smallest expiration age, in days, at which S3 deletes an
// object created at created no earlier than due: S3 deletes at the first
// midnight UTC at or after created + days.
func ageDays(created, due time.Time) int {
	d := max(1, int(due.Sub(created).Hours()/24))
	for d > 1 && !expiresAt(created, d-1).Before(due) {
		d--
	}
	for expiresAt(created, d).Before(due) {
		d++
	}
	return d
}

// expiresAt is when S3 deletes an object created at created with an
// expiration of days: created + days, rounded up to midnight UTC.
func expiresAt(created time.Time, days int) time.Time {
	t := created.UTC().Add(time.Duration(days) * 24 * time.Hour)
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if midnight.Before(t) {
		midnight = midnight.AddDate(0, 0, 1)
	}
	return midnight
}
