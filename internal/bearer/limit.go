package bearer

import (
	"container/heap"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Failed authentications are limited per client address by a token
// bucket: FailBurst failures are let through, then one more every
// FailEvery. Past that a request from the address that does not
// authenticate is answered 429, not 401. A request that authenticates is
// always served and never counted: behind a proxy or a NAT, where many
// clients share one address, a stranger's bad tokens must not lock a
// token's holder out (the supplier out of its batches, support out of
// the status API).
//
// Tokens are 256-bit, so guessing one is hopeless at any rate, and the
// limit is not what stops it. It turns a flood of bad tokens into one log
// line instead of one per request, tells a client with a wrong token to
// back off (Retry-After), and holds a misconfigured client to a trickle.
// Ten failures in a row are plenty for a client to show its token is wrong (a
// botched rotation fails every call), and a 6 s refill means that once
// the token is fixed it waits at most 6 s. Sustained, that is 10 failures
// a minute an address.
const (
	FailBurst = 10
	FailEvery = 6 * time.Second
	// MaxClients bounds the table (about 140 bytes an entry: 1.5 MB at
	// most). An address whose bucket is full again is forgotten; past the
	// cap, the one nearest to full is dropped first, so addresses that
	// failed most are remembered longest.
	MaxClients = 10_000
)

// Limiter counts failed authentications per client. It is safe for
// concurrent use. Each bucket is kept as one time (as in GCRA): when it
// will be full again. A failure moves that time FailEvery later; once it
// has passed, the client is forgotten. The bucket is empty, and the
// client refused, while that time is more than (FailBurst-1)·FailEvery
// away.
//
// Concurrent requests from one address may all pass the check before any
// failure is counted, so a burst can slightly exceed FailBurst; every
// failure is still counted, and lengthens the refusal that follows.
type Limiter struct {
	mu      sync.Mutex
	clients map[string]*client
	byFull  clientHeap // soonest full first
}

type client struct {
	key    string
	full   time.Time // when the bucket is full again
	logged bool      // this lockout has been logged
	index  int       // in byFull
}

const failTolerance = (FailBurst - 1) * FailEvery

// NewLimiter returns an empty Limiter.
func NewLimiter() *Limiter { return &Limiter{clients: map[string]*client{}} }

// Wait returns how long key must wait before its next request is let
// through: 0 unless its budget of failures is used up.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[key]
	if c == nil {
		return 0
	}
	return max(0, c.full.Sub(now)-failTolerance)
}

// Fail counts a failed authentication from key at now. It returns how
// long key must now wait, and whether this failure began a lockout that
// has not been reported yet (once per lockout: until the bucket is full
// again).
func (l *Limiter) Fail(key string, now time.Time) (wait time.Duration, report bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.byFull) > 0 && !l.byFull[0].full.After(now) {
		delete(l.clients, heap.Pop(&l.byFull).(*client).key)
	}
	c := l.clients[key]
	if c == nil {
		if len(l.clients) >= MaxClients {
			delete(l.clients, heap.Pop(&l.byFull).(*client).key)
		}
		c = &client{key: key, full: now}
		l.clients[key] = c
		heap.Push(&l.byFull, c)
	}
	c.full = c.full.Add(FailEvery) // not in the past: clients full again were forgotten above
	heap.Fix(&l.byFull, c.index)
	wait = max(0, c.full.Sub(now)-failTolerance)
	if wait > 0 && !c.logged {
		c.logged = true
		return wait, true
	}
	return wait, false
}

// Size returns how many clients are remembered.
func (l *Limiter) Size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// ClientKey names whom a request's failures count against: the host of
// its RemoteAddr (a proxy's X-Forwarded-For is not trusted), an IPv6
// address by its /64, which is one site's network and which an attacker
// gets whole.
func ClientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}

// clientHeap is a min-heap of clients by when their buckets are full.
type clientHeap []*client

func (h clientHeap) Len() int           { return len(h) }
func (h clientHeap) Less(i, j int) bool { return h[i].full.Before(h[j].full) }
func (h clientHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *clientHeap) Push(x any) {
	c := x.(*client)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *clientHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}
