package allocrunner

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/template"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serviceFetchTimeout bounds the first read of a service a template asks
// for; after it the render fails and the restart policy retries.
const serviceFetchTimeout = 30 * time.Second

// serviceCache is the template.ServiceSource of one task: the first read of
// a service (or of the service list) fetches it from the servers and starts
// a blocking query that keeps it current; changed is signalled when a
// watched result changes, so the templates are rendered again.
type serviceCache struct {
	ctx       context.Context
	sd        ServiceDiscovery
	namespace string // the allocation's, for queries that name none

	mu      sync.Mutex
	entries map[string]*serviceEntry
	changed chan struct{} // size 1
}

// serviceEntry is one watched query's latest result.
type serviceEntry struct {
	regs  []*structs.ServiceRegistration
	stubs []*structs.ServiceRegistrationStub
	index uint64
}

var _ template.ServiceSource = (*serviceCache)(nil)

func newServiceCache(ctx context.Context, sd ServiceDiscovery, namespace string) *serviceCache {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	return &serviceCache{ctx: ctx, sd: sd, namespace: namespace, entries: map[string]*serviceEntry{}, changed: make(chan struct{}, 1)}
}

// fetchFn reads a query once (blocking past waitIndex when > 0).
type fetchFn func(ctx context.Context, waitIndex uint64) (*serviceEntry, error)

// Service implements template.ServiceSource.
func (c *serviceCache) Service(namespace, name string) ([]*structs.ServiceRegistration, error) {
	if namespace == "" {
		namespace = c.namespace
	}
	e, err := c.get("service/"+namespace+"/"+name, func(ctx context.Context, idx uint64) (*serviceEntry, error) {
		regs, i, err := c.sd.ServiceRegistrations(ctx, namespace, name, idx)
		return &serviceEntry{regs: regs, index: i}, err
	})
	if err != nil {
		return nil, err
	}
	return e.regs, nil
}

// Services implements template.ServiceSource.
func (c *serviceCache) Services(namespace string) ([]*structs.ServiceRegistrationStub, error) {
	if namespace == "" {
		namespace = c.namespace
	}
	e, err := c.get("services/"+namespace, func(ctx context.Context, idx uint64) (*serviceEntry, error) {
		list, i, err := c.sd.ListServices(ctx, namespace, idx)
		var stubs []*structs.ServiceRegistrationStub
		for _, l := range list {
			if l.Namespace == namespace {
				stubs = append(stubs, l.Services...)
			}
		}
		return &serviceEntry{stubs: stubs, index: i}, err
	})
	if err != nil {
		return nil, err
	}
	return e.stubs, nil
}

// get returns the cached result of key, fetching it (with retries) and
// starting its watch the first time.
func (c *serviceCache) get(key string, fetch fetchFn) (*serviceEntry, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, serviceFetchTimeout)
	defer cancel()
	var err error
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if e, err = fetch(ctx, 0); err == nil {
			break
		}
		if !sleepCtx(ctx, wait) {
			return nil, fmt.Errorf("read from the servers: %w", err)
		}
	}
	c.mu.Lock()
	if cur, ok := c.entries[key]; ok {
		c.mu.Unlock()
		return cur, nil
	}
	c.entries[key] = e
	c.mu.Unlock()
	go c.watch(key, e.index, fetch)
	return e, nil
}

// watch keeps key current with blocking queries until the cache's ctx ends.
func (c *serviceCache) watch(key string, index uint64, fetch fetchFn) {
	var wait time.Duration
	for c.ctx.Err() == nil {
		e, err := fetch(c.ctx, max(index, 1))
		if err != nil {
			wait = retryAfter(wait, 10*time.Second)
			if !sleepCtx(c.ctx, wait) {
				return
			}
			continue
		}
		wait = 0
		if e.index < index { // the servers' state was reset: start over
			index = 0
			continue
		}
		index = e.index
		c.mu.Lock()
		old := c.entries[key]
		same := slices.EqualFunc(old.regs, e.regs, (*structs.ServiceRegistration).Equal) &&
			slices.EqualFunc(old.stubs, e.stubs, func(a, b *structs.ServiceRegistrationStub) bool {
				return a.ServiceName == b.ServiceName && slices.Equal(a.Tags, b.Tags)
			})
		if !same {
			c.entries[key] = e
		}
		c.mu.Unlock()
		if !same {
			select {
			case c.changed <- struct{}{}:
			default:
			}
		}
	}
}
