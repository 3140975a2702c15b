package network

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	"golang.org/x/sys/unix"
)

// The warm pool (Config.PoolSize): namespaces already attached to the
// bridge through the plugins that do not depend on the allocation
// (loopback, bridge with host-local IPAM, firewall), each under a CNI
// container ID of its own. A bridge allocation's Setup takes one: its
// namespace moves to the allocation's path (a bind mount), and only the
// portmap plugin runs, under the allocation's ID, while the task starts.
// Each entry has a file in StateDir/pool, written before anything is
// created and removed once the entry is torn down or its allocation's
// record is written, so a client killed at any point finds, at its next
// Sweep, what it must release.

// poolHead is how many of bridge mode's plugins a pooled namespace has
// run: all but portmap, whose port mappings are the allocation's.
const poolHead = 3

// poolEntryTimeout bounds the attachment or teardown of one entry.
const poolEntryTimeout = time.Minute

// poolEntry is a pooled namespace, as its file records it.
type poolEntry struct {
	// ID is the CNI container ID its plugins ran under.
	ID    string
	NetNS string
	// ConfList is the network list it was attached with.
	ConfList json.RawMessage
	// Claim is the allocation taking it, set before the namespace moves
	// to the allocation's path.
	Claim string `json:",omitempty"`
}

// pool is the manager's warm pool.
type pool struct {
	mu      sync.Mutex
	ready   []*poolEntry
	own     map[string]bool // entries of this process, ready or being made
	filling bool
	closed  bool
	wg      sync.WaitGroup
	// stop ends the context of the entry being made (nil: none), so
	// Close does not wait for its plugins.
	stop context.CancelFunc
}

func (c Config) poolDir() string { return filepath.Join(c.StateDir, "pool") }

func (m *Manager) poolFile(id string) string { return filepath.Join(m.cfg.poolDir(), id+".json") }

func (m *Manager) writePoolEntry(e *poolEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := writeFile(m.poolFile(e.ID), b); err != nil {
		return fmt.Errorf("network: record pooled namespace %s: %w", e.ID, err)
	}
	return nil
}

// takePooled returns a ready entry of the pool (nil: none, or no pool).
// The pool is refilled once the allocation's setup is complete (refill,
// from finish): not while its portmap plugin and task start, which the
// filler's plugins would slow down on a busy host.
func (m *Manager) takePooled() *poolEntry {
	if m.cfg.PoolSize <= 0 {
		return nil
	}
	p := &m.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.ready); n > 0 {
		e := p.ready[n-1]
		p.ready = p.ready[:n-1]
		return e
	}
	return nil
}

// refill starts filling the pool (see refillLocked).
func (m *Manager) refill() {
	if m.cfg.PoolSize <= 0 {
		return
	}
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	m.refillLocked()
}

// PoolIdle reports whether the warm pool's filler is not running (the
// pool is full, closed, disabled, or its last attempt failed).
func (m *Manager) PoolIdle() bool {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return !m.pool.filling
}

// refillLocked starts the pool's filler unless it runs, the pool is full
// or closed. One entry is made at a time (they compete for the same two
// cores as the allocations starting); a failure stops the filler until
// the next take.
func (m *Manager) refillLocked() {
	p := &m.pool
	if p.closed || p.filling || len(p.ready) >= m.cfg.PoolSize {
		return
	}
	p.filling = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			p.mu.Lock()
			if p.closed || len(p.ready) >= m.cfg.PoolSize {
				p.filling = false
				p.mu.Unlock()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), poolEntryTimeout)
			p.stop = cancel
			p.mu.Unlock()
			e, err := m.newPoolEntry(ctx)
			cancel()
			p.mu.Lock()
			p.stop = nil
			if err != nil {
				p.filling = false
				closed := p.closed
				p.mu.Unlock()
				if !closed {
					m.cfg.Logger.Warn("network: warm pool: attach a namespace ahead of time", "error", err)
				}
				return
			}
			// Even when closed meanwhile: Close tears down what is ready
			// once the filler has returned.
			p.ready = append(p.ready, e)
			p.mu.Unlock()
		}
	}()
}

// newPoolEntry creates a namespace and runs bridge mode's first poolHead
// plugins for it: loopback and bridge as a list (libcni caches their
// result), then firewall with that result as its prevResult, as the
// list's ADD would run it. On error (or once ctx ends: Close, whose
// cancel kills the plugin running) the entry is torn down, under a
// context of its own: the bridge's cached result gives the firewall's
// DEL the address whose rules a killed ADD may have added.
func (m *Manager) newPoolEntry(ctx context.Context) (*poolEntry, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "pool-" + m.cfg.BridgeName + "-" + hex.EncodeToString(b[:])
	e := &poolEntry{ID: id, NetNS: netnsPath(id), ConfList: m.bridge.Bytes}
	m.pool.mu.Lock()
	m.pool.own[id] = true
	m.pool.mu.Unlock()
	if err := m.writePoolEntry(e); err != nil {
		return nil, err
	}
	err := createNetNS(e.NetNS)
	if err == nil {
		err = m.addPoolHead(ctx, e)
	}
	if err != nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), poolEntryTimeout)
		defer cancel()
		if terr := m.teardownPoolEntry(tctx, e); terr != nil {
			m.cfg.Logger.Warn("network: warm pool: clean up a failed namespace", "id", e.ID, "error", terr)
		}
		return nil, fmt.Errorf("CNI network %q (plugins from %s): %w", m.bridge.Name, m.cfg.CNIPath, err)
	}
	return e, nil
}

// addPoolHead runs bridge mode's first poolHead plugins for e: all but
// the last as a list, then the last with their result (see newPoolEntry).
func (m *Manager) addPoolHead(ctx context.Context, e *poolEntry) error {
	rt := &libcni.RuntimeConf{ContainerID: e.ID, NetNS: e.NetNS, IfName: ifName}
	sub := func(p ...*libcni.PluginConfig) *libcni.NetworkConfigList {
		return &libcni.NetworkConfigList{Name: m.bridge.Name, CNIVersion: m.bridge.CNIVersion, Plugins: p, Bytes: m.bridge.Bytes}
	}
	prev, err := m.cni.AddNetworkList(ctx, sub(m.bridge.Plugins[:poolHead-1]...), rt)
	if err != nil {
		return err
	}
	last, err := libcni.InjectConf(m.bridge.Plugins[poolHead-1], map[string]any{"prevResult": prev})
	if err != nil {
		return err
	}
	_, err = m.cni.AddNetworkList(ctx, sub(last), rt)
	return err
}

// teardownPoolEntry releases an entry not (or no longer) owned by an
// allocation: the plugins' DEL, its namespace wherever it is (the pool's
// path, or its claimant's if the move had begun), its file. The
// claimant's path is released only when it holds the entry's namespace
// (claimHolds): a claim whose move failed because that path was taken
// leaves it to its owner.
func (m *Manager) teardownPoolEntry(ctx context.Context, e *poolEntry) error {
	var errs []error
	netns := e.NetNS
	claimed := e.Claim != "" && claimHolds(e)
	if claimed && !isNetNS(netns) {
		netns = netnsPath(e.Claim)
	}
	list, err := libcni.ConfListFromBytes(e.ConfList)
	if err == nil && len(list.Plugins) < poolHead {
		err = fmt.Errorf("%d plugins, want at least %d", len(list.Plugins), poolHead)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("network: recorded CNI network list of pooled namespace %s: %w", e.ID, err))
	} else {
		head := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[:poolHead], Bytes: list.Bytes}
		if err := m.cni.DelNetworkList(ctx, head, &libcni.RuntimeConf{ContainerID: e.ID, NetNS: netns, IfName: ifName}); err != nil {
			errs = append(errs, fmt.Errorf("network: CNI DEL of pooled namespace %s: %w", e.ID, err))
		}
	}
	if err := removeNetNS(e.NetNS); err != nil {
		errs = append(errs, err)
	}
	if claimed || e.Claim != "" && emptyFile(netnsPath(e.Claim)) {
		// (An empty file: the move's, from a client killed between its
		// creation and the bind mount; left, it would fail every later
		// setup of the claimant.)
		if err := removeNetNS(netnsPath(e.Claim)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // keep the file: the next Sweep retries
	}
	m.pool.mu.Lock()
	delete(m.pool.own, e.ID)
	m.pool.mu.Unlock()
	if err := os.Remove(m.poolFile(e.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}

// claimHolds reports whether the path of e's claimant holds e's
// namespace: the move has begun (the same namespace at both paths) or is
// complete (e's own path is no namespace any more).
func claimHolds(e *poolEntry) bool {
	var claim, own unix.Stat_t
	if err := unix.Stat(netnsPath(e.Claim), &claim); err != nil || !isNetNS(netnsPath(e.Claim)) {
		return false
	}
	if !isNetNS(e.NetNS) {
		return true
	}
	if err := unix.Stat(e.NetNS, &own); err != nil {
		return false
	}
	return claim.Dev == own.Dev && claim.Ino == own.Ino
}

// emptyFile reports whether path is an empty regular file (no namespace
// mounted on it).
func emptyFile(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular() && st.Size() == 0 && !isNetNS(path)
}

// claimPooled gives the allocation of rec the namespace of e: it moves to
// rec.Runtime.NetNS, and rec records that its first poolHead plugins ran
// under e's ID. It returns their cached result. On error, e is torn down.
func (m *Manager) claimPooled(ctx context.Context, e *poolEntry, rec *record) (raw types.Result, err error) {
	defer func() {
		if err != nil {
			m.releaseClaim(ctx, e)
		}
	}()
	e.Claim = rec.AllocID
	if err := m.writePoolEntry(e); err != nil {
		return nil, err
	}
	if err := moveNetNS(e.NetNS, rec.Runtime.NetNS); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	rec.Runtime.HeadID, rec.Runtime.Head = e.ID, poolHead
	rec.ConfList = e.ConfList
	list, err := libcni.ConfListFromBytes(e.ConfList)
	if err != nil {
		return nil, fmt.Errorf("network: pooled namespace %s: %w", e.ID, err)
	}
	res, err := m.cni.GetNetworkListCachedResult(list, m.headRuntime(rec))
	if err != nil || res == nil {
		return nil, fmt.Errorf("network: the cached CNI result of pooled namespace %s is missing (%v)", e.ID, err)
	}
	return res, nil
}

// releaseClaim tears down e after a failed claim, under a context of its
// own: ctx may have ended (the allocation stopped while it started), and
// no record names e, so neither the allocation's teardown nor anything
// before the client's next Sweep would release it.
func (m *Manager) releaseClaim(ctx context.Context, e *poolEntry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), poolEntryTimeout)
	defer cancel()
	if err := m.teardownPoolEntry(ctx, e); err != nil {
		m.cfg.Logger.Warn("network: warm pool: clean up after a failed claim", "id", e.ID, "error", err)
	}
}

// pooledDone drops e's file once its allocation's record is written.
func (m *Manager) pooledDone(e *poolEntry) {
	m.pool.mu.Lock()
	delete(m.pool.own, e.ID)
	m.pool.mu.Unlock()
	if err := os.Remove(m.poolFile(e.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		m.cfg.Logger.Warn("network: warm pool: remove a claimed namespace's file", "id", e.ID, "error", err)
	}
}

// sweepPool releases the pooled namespaces an earlier run of the client
// left (killed, or stopped without Close): each is torn down, unless an
// allocation's record already owns it (killed between that record and
// the removal of the entry's file).
func (m *Manager) sweepPool(ctx context.Context) error {
	entries, err := os.ReadDir(m.cfg.poolDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, de := range entries {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || de.IsDir() {
			continue
		}
		m.pool.mu.Lock()
		mine := m.pool.own[id]
		m.pool.mu.Unlock()
		if mine {
			continue
		}
		b, err := os.ReadFile(m.poolFile(id))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var e poolEntry
		if err := json.Unmarshal(b, &e); err != nil || e.ID != id {
			errs = append(errs, fmt.Errorf("network: pooled namespace file %s: %v: remove it and the namespace %s by hand", m.poolFile(id), err, netnsPath(id)))
			continue
		}
		if e.Claim != "" {
			r, err := m.readRecord(e.Claim)
			if err == nil && r.Runtime.HeadID == e.ID {
				if err := removeNetNS(e.NetNS); err != nil {
					errs = append(errs, err)
					continue
				}
				m.pooledDone(&e)
				continue
			}
			if err == nil {
				// The claimant's record is not from this entry: the
				// namespace at its path is its own, not this entry's
				// moved one. Release only the entry's part.
				e.Claim = ""
			} else if !errors.Is(err, os.ErrNotExist) {
				// Which of the two cannot be told: release nothing (its
				// lease may be the allocation's).
				errs = append(errs, fmt.Errorf("network: pooled namespace %s claimed by allocation %s: %w: once that allocation is gone, remove %s", e.ID, e.Claim, err, m.poolFile(id)))
				continue
			}
		}
		m.cfg.Logger.Info("network: warm pool: releasing a namespace an earlier run left", "id", e.ID)
		if err := m.teardownPoolEntry(ctx, &e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close tears down the warm pool: the entry being made is stopped (its
// plugin killed) and torn down, then the ready ones are. The allocations'
// networks stay: a restarted client re-attaches to them.
func (m *Manager) Close(ctx context.Context) error {
	p := &m.pool
	p.mu.Lock()
	p.closed = true
	if p.stop != nil {
		p.stop()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("network: close the warm pool: %w", ctx.Err())
	}
	p.mu.Lock()
	ready := p.ready
	p.ready = nil
	p.mu.Unlock()
	var errs []error
	for _, e := range ready {
		if err := m.teardownPoolEntry(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// moveNetNS moves a named namespace from one path to another: a bind
// mount at to, then from is unmounted and removed.
func moveNetNS(from, to string) error {
	f, err := os.OpenFile(to, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("create network namespace file: %w", err)
	}
	_ = f.Close()
	if err := unix.Mount(from, to, "none", unix.MS_BIND, ""); err != nil {
		_ = os.Remove(to)
		return fmt.Errorf("bind-mount the network namespace %s at %s: %w", from, to, err)
	}
	return removeNetNS(from)
}
