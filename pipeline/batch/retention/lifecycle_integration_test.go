//go:build integration

package retention_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/quire-print/quire/pipeline/batch/batchtest"
	"github.com/quire-print/quire/pipeline/batch/retention"
	"github.com/quire-print/quire/pipeline/memqueue"
	"github.com/quire-print/quire/pipeline/storage/s3store/s3test"
)

// TestLifecycleOnS3 installs the rules next to a rule Quire did not write,
// and tags a posted envelope's files, and a cancelled one's, so that S3
// deletes them no earlier than 30 days after posting (or cancelling).
func TestLifecycleOnS3(t *testing.T) {
	cfg := s3test.Config(t)
	cfg.Prefix = "quire/"
	s := s3test.New(t, cfg)
	c := s3test.Client(t, cfg)

	theirs := lifecycle.NewConfiguration()
	theirs.Rules = []lifecycle.Rule{{ID: "someone-elses", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "logs/"},
		Expiration: lifecycle.Expiration{Days: 7}}}
	if err := c.SetBucketLifecycle(t.Context(), cfg.Bucket, theirs); err != nil {
		t.Fatal(err)
	}
	rec := batchtest.Commit(t, s, "E-1", time.Now().Add(-time.Hour))
	batchtest.Commit(t, s, "E-2", time.Now().Add(-time.Hour))
	batchtest.Commit(t, s, "E-3", time.Now().Add(-time.Hour))

	lc, err := retention.NewLifecycle(t.Context(), retention.LifecycleConfig{S3: cfg, Days: 30, Window: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := retention.NewLifecycle(t.Context(), retention.LifecycleConfig{S3: cfg, Days: 30, Window: 10}); err != nil {
		t.Fatalf("installing twice: %v", err)
	}
	got, err := c.GetBucketLifecycle(t.Context(), cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got.Rules {
		ids = append(ids, r.ID)
		if r.ID == retention.RuleID(35) && (int(r.Expiration.Days) != 35 || r.RuleFilter.And.Prefix != "quire/" ||
			len(r.RuleFilter.And.Tags) != 1 || r.RuleFilter.And.Tags[0].Value != "35" || int(r.NoncurrentVersionExpiration.NoncurrentDays) != 1) {
			t.Errorf("rule %+v", r)
		}
	}
	if len(ids) != 12 || !slices.Contains(ids, "someone-elses") || !slices.Contains(ids, retention.RuleID(30)) || !slices.Contains(ids, retention.RuleID(40)) {
		t.Errorf("rules %v: want someone-elses and 30d to 40d", ids)
	}

	posted := time.Now()
	k, err := retention.New(retention.Config{Store: s, Days: 30, Lifecycle: lc, Clock: memqueue.NewManualClock(posted)})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Posted(t.Context(), "E-1", posted); err != nil {
		t.Fatal(err)
	}
	// E-2's cancellation stood, at the same moment; E-3 waits for its
	// batch and is not scheduled.
	if err := k.Cancelled(t.Context(), "E-2", posted); err != nil {
		t.Fatal(err)
	}
	n := 0
	for o := range c.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: "quire/envelopes/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		tags, err := c.GetObjectTagging(t.Context(), cfg.Bucket, o.Key, minio.GetObjectTaggingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, tagged := tags.ToMap()[retention.TagKey]
		inFiles := slices.Contains([]string{"quire/envelopes/E-1/files/", "quire/envelopes/E-2/files/"}, o.Key[:len("quire/envelopes/E-1/files/")])
		if tagged != inFiles {
			t.Errorf("%s: tagged %v", o.Key, tagged)
		}
		if tagged {
			n++
			days, _ := strconv.Atoi(v)
			expires := o.LastModified.UTC().Add(time.Duration(days) * 24 * time.Hour)
			if days < 30 || expires.Before(posted.AddDate(0, 0, 29)) || expires.After(posted.AddDate(0, 0, 31)) {
				t.Errorf("%s: created %s, tagged to expire after %s days", o.Key, o.LastModified, v)
			}
		}
	}
	if n != 2*len(rec.Files()) {
		t.Errorf("%d objects tagged, want the request and %d documents of E-1 and of E-2", n, len(rec.Documents))
	}
}
