package preview

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/quire-print/quire/renderer/raster"
)

// key identifies one preview: a SHA-256 of everything that decides its
// bytes (see Handler.key).
type key [32]byte

// entryOverhead is roughly what an entry costs besides its bytes (the map
// slot, the list element, the entry itself), so that many tiny entries
// cannot outgrow the budget.
const entryOverhead = 256

// outcome says how a preview was obtained, for logs and Stats.
type outcome string

const (
	outcomeHit    outcome = "hit"    // from the cache
	outcomeMiss   outcome = "miss"   // drawn for this request
	outcomeShared outcome = "shared" // drawn for an identical request at the same time
)

// errAbandoned is what waiters see when the request drawing their preview
// gave up before drawing (its client went away while it waited for a
// slot). They try again themselves rather than fail for someone else.
var errAbandoned = errors.New("preview: the request drawing this preview gave up")

// drawPanic is what a preview's requests see when drawing it panicked: a
// bug in Quire, answered with 500 rather than a dropped connection, and
// never kept in the cache. Its text names the runtime error or the type
// of the panic value only, since a value a renderer panics with might
// quote what was typed; the stack names code, not input.
type drawPanic struct {
	what  string
	stack []byte
}

func (p *drawPanic) Error() string { return "preview: drawing panicked: " + p.what }

// newDrawPanic describes the value recovered from a panic.
func newDrawPanic(v any) *drawPanic {
	what := fmt.Sprintf("a %T", v)
	if re, ok := v.(runtime.Error); ok {
		what = re.Error()
	}
	return &drawPanic{what: what, stack: debug.Stack()}
}

// cache holds finished previews, least recently used first out, within a
// byte budget, and makes sure each is drawn once: a request for a preview
// that is being drawn waits for it instead of drawing it again. It is safe
// for concurrent use.
type cache[V any] struct {
	mu      sync.Mutex
	budget  int64
	size    int64
	cost    func(V) int64 // bytes a value holds
	entries map[key]*entry[V]
	lru     list.List // of *entry, most recent at the front; finished entries only
	counts  Stats
	// onWait, when set, is called as a request starts waiting for a
	// preview another request is drawing. Tests use it to know when.
	onWait func()
}

type entry[V any] struct {
	key  key
	done chan struct{} // closed when val or err is set
	val  V
	cost int64
	err  error
	elem *list.Element // nil until finished and kept
}

// newCache returns a cache of values of up to budget bytes, as cost
// counts them.
func newCache[V any](budget int64, cost func(V) int64) *cache[V] {
	return &cache[V]{budget: budget, cost: cost, entries: make(map[key]*entry[V])}
}

// bytesCost is the cost of a finished preview: its length.
func bytesCost(b []byte) int64 { return int64(len(b)) }

// baseCost is the cost of a template's base image.
func baseCost(b *raster.Base) int64 {
	if b == nil {
		return 0
	}
	return int64(b.Bytes())
}

// get returns the preview for k, drawing it with draw when it is neither
// cached nor being drawn. draw runs on the caller's goroutine and should
// return errAbandoned when the caller's context ends before it starts
// work. Errors are not cached: the next request tries again. A panic in
// draw becomes a *drawPanic for the caller and every waiter alike, and
// leaves the entry free for the next request.
func (c *cache[V]) get(ctx context.Context, k key, draw func() (V, error)) (V, outcome, error) {
	for {
		c.mu.Lock()
		e, ok := c.entries[k]
		if !ok {
			e = &entry[V]{key: k, done: make(chan struct{})}
			c.entries[k] = e
			c.counts.Misses++
			c.mu.Unlock()
			val, err := drawRecovered(draw)
			c.finish(e, val, err)
			return val, outcomeMiss, err
		}
		select {
		case <-e.done:
			c.counts.Hits++
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			return e.val, outcomeHit, nil
		default:
		}
		onWait := c.onWait
		c.mu.Unlock()

		if onWait != nil {
			onWait()
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero V
			return zero, outcomeShared, ctx.Err()
		}
		if errors.Is(e.err, errAbandoned) {
			continue
		}
		if e.err == nil {
			c.mu.Lock()
			c.counts.Shared++
			c.mu.Unlock()
		}
		return e.val, outcomeShared, e.err
	}
}

// drawRecovered calls draw, turning a panic into an error.
func drawRecovered[V any](draw func() (V, error)) (val V, err error) {
	defer func() {
		if v := recover(); v != nil {
			var zero V
			val, err = zero, newDrawPanic(v)
		}
	}()
	return draw()
}

// finish records the result of drawing e and wakes its waiters. A failed
// entry, or one too big to keep, leaves the map so the next request tries
// afresh.
func (c *cache[V]) finish(e *entry[V], val V, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.val, e.err = val, err
	close(e.done)
	if err != nil {
		delete(c.entries, e.key)
		return
	}
	e.cost = c.cost(val) + entryOverhead
	if e.cost > c.budget/8 {
		delete(c.entries, e.key)
		return
	}
	e.elem = c.lru.PushFront(e)
	c.size += e.cost
	for c.size > c.budget {
		old := c.lru.Remove(c.lru.Back()).(*entry[V])
		delete(c.entries, old.key)
		c.size -= old.cost
		c.counts.Evictions++
	}
}

// stats returns the counts so far and what the cache holds now.
func (c *cache[V]) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.counts
	s.CacheBytes = c.size
	s.CacheEntries = c.lru.Len()
	return s
}
