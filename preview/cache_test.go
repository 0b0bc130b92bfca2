package preview

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func keyOf(s string) key {
	var k key
	copy(k[:], s)
	return k
}

func value(n int) func() ([]byte, error) {
	return func() ([]byte, error) { return make([]byte, n), nil }
}

func TestCacheHitsAfterAMiss(t *testing.T) {
	c := newCache(1<<20, bytesCost)
	ctx := context.Background()
	if _, how, err := c.get(ctx, keyOf("a"), value(10)); err != nil || how != outcomeMiss {
		t.Fatalf("first get: %v, %v; want a miss", how, err)
	}
	draws := 0
	val, how, err := c.get(ctx, keyOf("a"), func() ([]byte, error) { draws++; return nil, nil })
	if err != nil || how != outcomeHit || len(val) != 10 || draws != 0 {
		t.Fatalf("second get: %d bytes, %v, %v, %d draws; want the 10 cached bytes from a hit", len(val), how, err, draws)
	}
	if s := c.stats(); s.Hits != 1 || s.Misses != 1 || s.CacheEntries != 1 || s.CacheBytes != 10+entryOverhead {
		t.Errorf("stats %+v", s)
	}
}

func TestCacheEvictsLeastRecentlyUsedWithinItsBudget(t *testing.T) {
	const size, n = 1000, 10
	c := newCache(n*(size+entryOverhead), bytesCost)
	ctx := context.Background()
	for i := range n {
		c.get(ctx, keyOf(fmt.Sprint(i)), value(size))
	}
	c.get(ctx, keyOf("0"), value(size)) // 0 is now the most recent; 1 the least
	c.get(ctx, keyOf("new"), value(size))
	s := c.stats()
	if s.CacheEntries != n || s.Evictions != 1 || s.CacheBytes > n*(size+entryOverhead) {
		t.Fatalf("stats %+v: want %d entries within budget after 1 eviction", s, n)
	}
	for _, k := range []string{"0", "2", "9", "new"} {
		if _, how, _ := c.get(ctx, keyOf(k), value(size)); how != outcomeHit {
			t.Errorf("%s: %v, want a hit", k, how)
		}
	}
	if _, how, _ := c.get(ctx, keyOf("1"), value(size)); how != outcomeMiss {
		t.Errorf("1: %v, want a miss: it was the least recently used", how)
	}
}

func TestCacheDoesNotKeepErrorsOrGiants(t *testing.T) {
	c := newCache(8*1000, bytesCost)
	ctx := context.Background()
	boom := errors.New("boom")
	if _, _, err := c.get(ctx, keyOf("e"), func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if _, how, err := c.get(ctx, keyOf("e"), value(1)); err != nil || how != outcomeMiss {
		t.Errorf("after an error: %v, %v; want a fresh miss", how, err)
	}
	c.get(ctx, keyOf("giant"), value(1000)) // over an eighth of the budget
	if _, how, _ := c.get(ctx, keyOf("giant"), value(1000)); how != outcomeMiss {
		t.Errorf("a giant was kept: %v", how)
	}
	if s := c.stats(); s.CacheEntries != 1 {
		t.Errorf("%d entries, want only the small one", s.CacheEntries)
	}
}

// TestCacheCoalescesIdenticalRequests holds one draw back while more
// requests for the same key arrive: they wait for it rather than draw.
func TestCacheCoalescesIdenticalRequests(t *testing.T) {
	c := newCache(1<<20, bytesCost)
	const waiters = 16
	waiting := make(chan struct{}, waiters)
	c.onWait = func() { waiting <- struct{}{} }
	started, release := make(chan struct{}), make(chan struct{})
	draws := 0
	draw := func() ([]byte, error) {
		draws++
		close(started)
		<-release
		return []byte("page"), nil
	}
	var wg sync.WaitGroup
	results := make(chan string, waiters+1)
	get := func() {
		defer wg.Done()
		val, how, err := c.get(context.Background(), keyOf("k"), draw)
		results <- fmt.Sprintf("%s %s %v", val, how, err)
	}
	wg.Add(1)
	go get()
	<-started
	for range waiters {
		wg.Add(1)
		go get()
	}
	for range waiters {
		<-waiting
	}
	close(release)
	wg.Wait()
	close(results)
	counts := map[string]int{}
	for r := range results {
		counts[r]++
	}
	if draws != 1 || counts["page miss <nil>"] != 1 || counts["page shared <nil>"] != waiters {
		t.Errorf("%d draws, results %v; want 1 draw, 1 miss and %d shared", draws, counts, waiters)
	}
	if s := c.stats(); s.Shared != waiters {
		t.Errorf("stats count %d shared, want %d", s.Shared, waiters)
	}
}

// TestCacheWaiterTakesOverFromAnAbandonedDraw: when the request drawing a
// preview gives up before drawing, a request waiting for it draws it
// itself instead of failing for someone else's reason.
func TestCacheWaiterTakesOverFromAnAbandonedDraw(t *testing.T) {
	c := newCache(1<<20, bytesCost)
	waiting := make(chan struct{}, 1)
	c.onWait = func() { waiting <- struct{}{} }
	started, giveUp := make(chan struct{}), make(chan struct{})
	leader := make(chan error, 1)
	go func() {
		_, _, err := c.get(context.Background(), keyOf("k"), func() ([]byte, error) {
			close(started)
			<-giveUp
			return nil, errAbandoned
		})
		leader <- err
	}()
	<-started
	follower := make(chan string, 1)
	go func() {
		val, how, err := c.get(context.Background(), keyOf("k"), func() ([]byte, error) { return []byte("page"), nil })
		follower <- fmt.Sprintf("%s %s %v", val, how, err)
	}()
	<-waiting
	close(giveUp)
	if err := <-leader; !errors.Is(err, errAbandoned) {
		t.Errorf("leader: %v, want errAbandoned", err)
	}
	if got := <-follower; got != "page miss <nil>" {
		t.Errorf("follower got %q, want to draw the page itself", got)
	}
}

func TestCacheWaiterHonoursItsContext(t *testing.T) {
	c := newCache(1<<20, bytesCost)
	waiting := make(chan struct{}, 1)
	c.onWait = func() { waiting <- struct{}{} }
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	go c.get(context.Background(), keyOf("k"), func() ([]byte, error) {
		close(started)
		<-release
		return nil, nil
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, _, err := c.get(ctx, keyOf("k"), value(1))
		got <- err
	}()
	<-waiting
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
