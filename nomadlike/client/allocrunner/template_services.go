package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	// token is the task's workload identity, with which variables are read.
	token string
}

// serviceEntry is one watched query's latest result.
type serviceEntry struct {
	regs     []*structs.ServiceRegistration
	stubs    []*structs.ServiceRegistrationStub
	variable *structs.VariableDecrypted
	varMetas []*structs.VariableMetadata
	index    uint64
}

var (
	_ template.ServiceSource  = (*serviceCache)(nil)
	_ template.VariableSource = (*serviceCache)(nil)
)

// setToken sets the workload identity variables are read with.
func (c *serviceCache) setToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

func (c *serviceCache) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Variable implements template.VariableSource.
func (c *serviceCache) Variable(namespace, path string) (*structs.VariableDecrypted, error) {
	if namespace == "" {
		namespace = c.namespace
	}
	if c.currentToken() == "" {
		return nil, errNoIdentity
	}
	e, err := c.get("var/"+namespace+"/"+path, func(ctx context.Context, idx uint64) (*serviceEntry, error) {
		v, i, err := c.sd.Variable(ctx, c.currentToken(), namespace, path, idx)
		return &serviceEntry{variable: v, index: i}, err
	})
	if err != nil {
		return nil, err
	}
	return e.variable, nil
}

// VariableList implements template.VariableSource.
func (c *serviceCache) VariableList(namespace, prefix string) ([]*structs.VariableMetadata, error) {
	if namespace == "" {
		namespace = c.namespace
	}
	if c.currentToken() == "" {
		return nil, errNoIdentity
	}
	e, err := c.get("vars/"+namespace+"/"+prefix, func(ctx context.Context, idx uint64) (*serviceEntry, error) {
		list, i, err := c.sd.Variables(ctx, c.currentToken(), namespace, prefix, idx)
		return &serviceEntry{varMetas: list, index: i}, err
	})
	if err != nil {
		return nil, err
	}
	return e.varMetas, nil
}

// errNoIdentity: the task has no workload identity to read variables with.
var errNoIdentity = errors.New("the task has no workload identity to read variables with (the client could not get one from the servers)")

// sameVariables reports whether two results of a variable query agree.
func sameVariables(a, b *serviceEntry) bool {
	if (a.variable == nil) != (b.variable == nil) {
		return false
	}
	if a.variable != nil && (a.variable.ModifyIndex != b.variable.ModifyIndex || !maps.Equal(a.variable.Items, b.variable.Items)) {
		return false
	}
	return slices.EqualFunc(a.varMetas, b.varMetas, func(x, y *structs.VariableMetadata) bool {
		return x.Namespace == y.Namespace && x.Path == y.Path && x.ModifyIndex == y.ModifyIndex
	})
}

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
		if errors.Is(err, structs.ErrPermissionDenied) {
			return nil, err // no retry makes it readable
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
		same := sameVariables(old, e) && slices.EqualFunc(old.regs, e.regs, (*structs.ServiceRegistration).Equal) &&
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
