package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Defaults of the client's network settings, as Nomad's.
const (
	DefaultBridgeName   = "nomad"
	DefaultBridgeSubnet = "172.26.64.0/20"
	DefaultCNIPath      = "/opt/cni/bin:/usr/lib/cni"
	DefaultCNIConfigDir = "/opt/cni/config"
)

// ifName is the allocation's interface inside its namespace.
const ifName = "eth0"

// Config configures a Manager.
type Config struct {
	// StateDir holds the records of attached networks, the CNI cache and
	// the bridge's IPAM leases (DataDir/client/network).
	StateDir string
	// CNIPath lists the directories of the CNI plugin binaries
	// (colon-separated, as cni_path).
	CNIPath string
	// CNIConfigDir holds the users' network lists for "cni/<name>".
	CNIConfigDir string
	// BridgeName and BridgeSubnet configure bridge mode.
	BridgeName, BridgeSubnet string
	// Masquerade (bridge_network_masquerade) lets bridge allocations reach
	// beyond the host: the bridge plugin masquerades the subnet (ipMasq)
	// and the subnet has no egress guard. Off by default.
	Masquerade bool
	// PoolSize (bridge_network_pool_size) is how many namespaces already
	// attached to the bridge the manager keeps ready for bridge
	// allocations (see pool.go), from the first bridge allocation on; 0
	// disables the pool.
	PoolSize int
	Logger   *slog.Logger
	// GatewayDNS, when set, serves DNS on a bridge gateway address and
	// returns the server address for resolv.conf: bridge allocations
	// without a dns block resolve through it (the client's DNS server).
	GatewayDNS func(gw net.IP) (string, error) `json:"-"`
}

func (c Config) ipamDir() string  { return filepath.Join(c.StateDir, "ipam") }
func (c Config) cacheDir() string { return filepath.Join(c.StateDir, "cache") }
func (c Config) recordDir() string {
	return filepath.Join(c.StateDir, "allocs")
}

// Manager sets up and tears down allocations' networks. It is safe for
// concurrent use; calls for one allocation are serialised.
type Manager struct {
	cfg Config
	cni *libcni.CNIConfig
	// bridge is bridge mode's network list, built once from cfg.
	bridge *libcni.NetworkConfigList

	mu    sync.Mutex
	locks map[string]*sync.Mutex
	guard bool // egress guard installed (removed with Masquerade) by this process
	// rests cancel the background parts of setups in progress (finish),
	// by allocation: a Teardown ends its allocation's at once.
	rests map[string]context.CancelFunc

	pool pool
}

// New checks cfg and returns a manager. It does not touch the host until
// the first Setup.
func New(cfg Config) (*Manager, error) {
	if cfg.BridgeName == "" {
		cfg.BridgeName = DefaultBridgeName
	}
	if cfg.BridgeSubnet == "" {
		cfg.BridgeSubnet = DefaultBridgeSubnet
	}
	if cfg.CNIPath == "" {
		cfg.CNIPath = DefaultCNIPath
	}
	if cfg.CNIConfigDir == "" {
		cfg.CNIConfigDir = DefaultCNIConfigDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StateDir == "" {
		return nil, errors.New("network: a state dir is required")
	}
	ip, ipnet, err := net.ParseCIDR(cfg.BridgeSubnet)
	if err != nil || ip.To4() == nil {
		return nil, fmt.Errorf("client config: bridge_network_subnet %q is not an IPv4 CIDR such as %q", cfg.BridgeSubnet, DefaultBridgeSubnet)
	}
	cfg.BridgeSubnet = ipnet.String()
	if len(cfg.BridgeName) > 15 || strings.ContainsAny(cfg.BridgeName, "/ \t") {
		return nil, fmt.Errorf("client config: bridge_network_name %q is not a valid interface name (at most 15 characters, no '/' or spaces)", cfg.BridgeName)
	}
	if cfg.PoolSize < 0 {
		return nil, fmt.Errorf("client config: bridge_network_pool_size %d is negative: give 0 to disable the warm pool", cfg.PoolSize)
	}
	for _, d := range []string{cfg.recordDir(), cfg.cacheDir(), cfg.ipamDir(), cfg.poolDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("network: create %s: %w", d, err)
		}
	}
	backend := portmapBackend(cfg.CNIPath)
	bridge, err := bridgeConfList(cfg, backend)
	if err != nil {
		return nil, fmt.Errorf("network: bridge network list: %w", err)
	}
	cfg.Logger.Debug("network: bridge mode's port mappings", "portmap_backend", backend)
	return &Manager{cfg: cfg, cni: libcni.NewCNIConfigWithCacheDir(filepath.SplitList(cfg.CNIPath), cfg.cacheDir(), newPluginExec()),
		bridge: bridge, locks: map[string]*sync.Mutex{}, rests: map[string]context.CancelFunc{}, pool: pool{own: map[string]bool{}}}, nil
}

// Config returns the manager's settled config (defaults applied).
func (m *Manager) Config() Config { return m.cfg }

// Request asks for an allocation's network.
type Request struct {
	AllocID string
	// Mode is "bridge" or "cni/<name>".
	Mode     string
	Ports    []structs.PortMapping
	Hostname string
	DNS      *structs.DNSConfig
	// CNIArgs are the network's cni { args }, interpolated: the plugins get
	// them in CNI_ARGS.
	CNIArgs map[string]string
}

// Result is an allocation's attached network.
type Result struct {
	Status    *structs.AllocNetworkStatus
	Isolation *drivers.NetworkIsolation
	// rest is the part of the network still being set up when Setup
	// returned (nil: none).
	rest *pending
}

// pending is the rest of an allocation's network, set up in the
// background: done is closed when it is in place or failed (err).
type pending struct {
	done chan struct{}
	err  error
}

// Wait returns once the whole network is in place. Setup returns as soon
// as the namespace has its interface and address (what the tasks' env and
// files need); in bridge mode the firewall and portmap plugins (most of
// the setup time: their iptables calls) then run in the background, so a
// task can be prepared and started meanwhile. Wait before reporting a task
// running. The error is that of the plugins; ctx only bounds the wait.
func (r *Result) Wait(ctx context.Context) error {
	if r == nil || r.rest == nil {
		return nil
	}
	select {
	case <-r.rest.done:
		return r.rest.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// record is what the manager keeps per attached allocation: enough to tear
// it down exactly as it was set up.
type record struct {
	AllocID  string
	Mode     string
	ConfList json.RawMessage
	Runtime  runtimeConf
	Result   Result
	// GatewayDNS is the gateway address the allocation's resolv.conf names
	// when the client's DNS server serves it ("" otherwise).
	GatewayDNS string `json:",omitempty"`
	// Rest, when set, is the index in ConfList's plugins from which the
	// plugins have not yet completed their ADD (Setup runs them in the
	// background): a restarted client runs them again.
	Rest int `json:",omitempty"`
}

type runtimeConf struct {
	NetNS  string
	IfName string
	Ports  []portMapping
	// Args are the CNI_ARGS pairs, sorted by name; a teardown passes the
	// same ones.
	Args [][2]string `json:",omitempty"`
	// HeadID, when set, is the CNI container ID under which the first
	// Head plugins ran (a namespace of the warm pool); the others ran
	// under the allocation's ID.
	HeadID string `json:",omitempty"`
	Head   int    `json:",omitempty"`
}

// portMapping is the portmap plugin's runtime capability entry.
type portMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// portMappings is the portmap plugin's entries for ports: one per port and
// protocol (tcp, udp); a range (count) is one entry per port, host port
// Value+i to To+i, as the plugin knows no ranges.
func portMappings(ports []structs.PortMapping) []portMapping {
	var out []portMapping
	for _, p := range ports {
		to := p.InTaskPort()
		for i := range p.Span() {
			for _, proto := range []string{"tcp", "udp"} {
				out = append(out, portMapping{HostPort: p.Value + i, ContainerPort: to + i, Protocol: proto, HostIP: p.HostIP})
			}
		}
	}
	return out
}

func (m *Manager) lock(allocID string) func() {
	m.mu.Lock()
	l := m.locks[allocID]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[allocID] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (m *Manager) recordPath(allocID string) string {
	return filepath.Join(m.cfg.recordDir(), allocID+".json")
}

func (m *Manager) filesDir(allocID string) string {
	return filepath.Join(m.cfg.recordDir(), allocID)
}

func (m *Manager) readRecord(allocID string) (*record, error) {
	b, err := os.ReadFile(m.recordPath(allocID))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("network record of allocation %s: %w", allocID, err)
	}
	return &r, nil
}

// Setup gives the allocation its network namespace and attaches it. For an
// allocation already attached (a restarted client re-attaching to running
// tasks) it returns the recorded network unchanged.
//
// In bridge mode Setup returns once the namespace has its interface and
// address; the firewall and port mappings follow in the background (see
// Result.Wait), holding the allocation's lock, so a Teardown waits for
// them.
func (m *Manager) Setup(ctx context.Context, req Request) (*Result, error) {
	unlock := m.lock(req.AllocID)
	handedOff := false // the background setup unlocks
	defer func() {
		if !handedOff {
			unlock()
		}
	}()
	if r, err := m.readRecord(req.AllocID); err == nil {
		if isNetNS(r.Runtime.NetNS) && r.Result.Status != nil {
			if r.GatewayDNS != "" && m.cfg.GatewayDNS != nil {
				// A restarted client serves the gateway's DNS again.
				if _, err := m.cfg.GatewayDNS(net.ParseIP(r.GatewayDNS)); err != nil {
					return nil, fmt.Errorf("network mode \"bridge\": serve DNS on the bridge gateway %s: %w", r.GatewayDNS, err)
				}
			}
			res := r.Result
			if r.Rest > 0 {
				// The client stopped before the rest of the network was in
				// place: run those plugins again (finish deletes what
				// they may have added first: not every ADD is idempotent).
				list, err := libcni.ConfListFromBytes(r.ConfList)
				if err != nil {
					return nil, fmt.Errorf("network: recorded CNI network list of allocation %s: %w", req.AllocID, err)
				}
				handedOff = true
				res.rest = m.finish(ctx, list, r, true, unlock)
			}
			return &res, nil
		}
		// The namespace is gone (host reboot), or the client stopped before
		// the interface and address were recorded (killed in attach: the
		// record has no result to re-attach with): release what is left
		// and start over.
		if err := m.teardown(ctx, req.AllocID); err != nil {
			return nil, err
		}
	}
	list, err := m.confList(req.Mode)
	if err != nil {
		return nil, err
	}
	rc := runtimeConf{NetNS: netnsPath(req.AllocID), IfName: ifName}
	rc.Ports = portMappings(req.Ports)
	if len(req.CNIArgs) > 0 {
		// As Nomad: the standard plugins refuse arguments they do not know
		// unless IgnoreUnknown is set.
		args := map[string]string{"IgnoreUnknown": "true"}
		maps.Copy(args, req.CNIArgs)
		for _, k := range slices.Sorted(maps.Keys(args)) {
			rc.Args = append(rc.Args, [2]string{k, args[k]})
		}
	}
	rec := &record{AllocID: req.AllocID, Mode: req.Mode, ConfList: list.Bytes, Runtime: rc}
	if err := os.MkdirAll(m.filesDir(req.AllocID), 0o755); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	if list == m.bridge && len(rc.Args) == 0 {
		if e := m.takePooled(); e != nil {
			res, err := m.setupPooled(ctx, e, rec, req)
			if err != nil {
				return nil, err
			}
			if rec.Rest == 0 {
				m.refill() // nothing left to run: the network is complete
				return res, nil
			}
			handedOff = true
			res.rest = m.finish(ctx, list, rec, false, unlock)
			return res, nil
		}
	}
	// The record goes first, so a crash half-way leaves something Sweep
	// and Teardown find.
	if err := m.writeRecord(rec); err != nil {
		return nil, err
	}
	rest := len(list.Plugins)
	if list == m.bridge {
		rest = bridgeRest
	}
	res, err := m.attach(ctx, list, rest, rec, req)
	if errors.Is(err, errPathTaken) {
		// Nothing was made: the namespace there is not this setup's to
		// tear down (a DEL in it would remove its owner's interface).
		_ = os.RemoveAll(m.filesDir(req.AllocID))
		_ = os.Remove(m.recordPath(req.AllocID))
		return nil, err
	}
	if err != nil {
		if terr := m.teardown(ctx, req.AllocID); terr != nil {
			m.cfg.Logger.Warn("network: clean up after a failed setup", "alloc_id", req.AllocID, "error", terr)
		}
		return nil, err
	}
	rec.Result = *res
	if rest < len(list.Plugins) {
		rec.Rest = rest
	}
	if err := m.writeRecord(rec); err != nil {
		return nil, err
	}
	if rec.Rest > 0 {
		handedOff = true
		res.rest = m.finish(ctx, list, rec, false, unlock)
	}
	return res, nil
}

// setupPooled gives the allocation of rec the pooled namespace e; the
// portmap plugin is left to run (rec.Rest), if it has anything to do.
func (m *Manager) setupPooled(ctx context.Context, e *poolEntry, rec *record, req Request) (*Result, error) {
	raw, err := m.claimPooled(ctx, e, rec)
	if err != nil {
		_ = os.RemoveAll(m.filesDir(rec.AllocID)) // Setup made it
		return nil, err
	}
	res, err := m.describe(m.bridge.Name, raw, rec, req)
	if err == nil {
		rec.Result, rec.Rest = *res, 0
		if len(needed(rec, m.bridge.Plugins[poolHead:])) > 0 {
			rec.Rest = poolHead
		}
		err = m.writeRecord(rec)
	}
	if err != nil {
		m.releaseClaim(ctx, e)
		_ = os.RemoveAll(m.filesDir(rec.AllocID))
		_ = os.Remove(m.recordPath(rec.AllocID))
		return nil, err
	}
	m.pooledDone(e)
	return res, nil
}

// restTimeout bounds the background part of a setup.
const restTimeout = 2 * time.Minute

// finish runs the plugins of list from rec.Rest on in the background, all
// at once (each only adds rules for the address the earlier ones gave: the
// firewall plugin in the filter table, portmap in nat), each with the
// result of the earlier ones as its prevResult, as AddNetworkList would
// pass it (they return it unchanged). Then it clears rec.Rest and calls
// unlock (the allocation's lock, held until then). again is a run after
// a client restart: it first deletes what those plugins may have added
// before the client stopped (an ADD is not idempotent for every plugin:
// portmap's nftables backend appends its rules again), through their DEL.
func (m *Manager) finish(ctx context.Context, list *libcni.NetworkConfigList, rec *record, again bool, unlock func()) *pending {
	p := &pending{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restTimeout)
	m.mu.Lock()
	m.rests[rec.AllocID] = cancel
	m.mu.Unlock()
	go func() {
		defer close(p.done)
		defer unlock()
		defer func() {
			m.mu.Lock()
			delete(m.rests, rec.AllocID)
			m.mu.Unlock()
			cancel()
		}()
		rt := m.runtime(rec)
		prev, err := m.cni.GetNetworkListCachedResult(list, m.headRuntime(rec))
		if err != nil || prev == nil {
			p.err = fmt.Errorf("network mode %q: the cached result of the CNI network %q is missing (%v): tear the network down and start the allocation again", rec.Mode, list.Name, err)
			return
		}
		if again {
			// The DEL drops libcni's cached result too: the ADDs below
			// write it again (each returns prevResult unchanged).
			rest := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: needed(rec, list.Plugins[rec.Rest:]), Bytes: list.Bytes}
			if len(rest.Plugins) == 0 {
				// nothing to remove (nor to add below)
			} else if err := m.cni.DelNetworkList(ctx, rest, rt); err != nil {
				p.err = fmt.Errorf("network mode %q: CNI network %q: remove the part of the setup a stopped client left: %w", rec.Mode, list.Name, err)
				return
			}
		}
		errs := make([]error, len(list.Plugins))
		var wg sync.WaitGroup
		for i := rec.Rest; i < len(list.Plugins); i++ {
			if len(needed(rec, list.Plugins[i:i+1])) == 0 {
				continue
			}
			wg.Go(func() {
				conf, err := libcni.InjectConf(list.Plugins[i], map[string]any{"prevResult": prev})
				if err == nil {
					// One plugin, under the list's name and bytes: libcni
					// caches the same result for the list as before.
					one := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: []*libcni.PluginConfig{conf}, Bytes: list.Bytes}
					_, err = m.cni.AddNetworkList(ctx, one, rt)
				}
				if err != nil {
					errs[i] = fmt.Errorf("network mode %q: CNI network %q (plugins from %s): %w", rec.Mode, list.Name, m.cfg.CNIPath, err)
				}
			})
		}
		wg.Wait()
		if p.err = errors.Join(errs...); p.err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				p.err = fmt.Errorf("network mode %q: the allocation's network was torn down during its setup: %w", rec.Mode, p.err)
				m.cfg.Logger.Info("network: setup of the allocation's firewall and port mappings stopped by its teardown", "alloc_id", rec.AllocID)
				return
			}
			m.cfg.Logger.Error("network: set up the allocation's firewall and port mappings", "alloc_id", rec.AllocID, "error", p.err)
			return
		}
		rec.Rest = 0
		p.err = m.writeRecord(rec)
		if rec.Mode == structs.NetworkModeBridge {
			m.refill() // now, not while this allocation's plugins ran
		}
	}()
	return p
}

func (m *Manager) confList(mode string) (*libcni.NetworkConfigList, error) {
	switch {
	case mode == structs.NetworkModeBridge:
		if err := m.EnsureEgressGuard(); err != nil {
			return nil, fmt.Errorf("network mode \"bridge\": %w (bridge mode needs iptables; the guard keeps allocations' traffic on this host)", err)
		}
		return m.bridge, nil
	case strings.HasPrefix(mode, structs.NetworkModeCNIPrefix):
		return userConfList(m.cfg.CNIConfigDir, strings.TrimPrefix(mode, structs.NetworkModeCNIPrefix))
	}
	return nil, fmt.Errorf("network mode %q has no network namespace of its own", mode)
}

// EnsureEgressGuard installs the bridge subnet's egress guard, once per
// manager (the first bridge allocation, or the client's start, pays for
// the iptables calls; later ones do not). With Masquerade it removes the
// subnet's guard rule instead (one left by an earlier run without it).
func (m *Manager) EnsureEgressGuard() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.guard {
		return nil
	}
	install := ensureEgressGuard
	if m.cfg.Masquerade {
		install = removeEgressRule
	}
	if err := install(m.cfg.BridgeSubnet, m.cfg.BridgeName); err != nil {
		return err
	}
	m.guard = true
	return nil
}

// errPathTaken: the allocation's namespace path is taken by a namespace
// this setup did not make.
var errPathTaken = errors.New("the allocation's network namespace path is taken")

// attach creates the namespace and runs the plugins of list before index
// rest (those that give it its interface and address).
func (m *Manager) attach(ctx context.Context, list *libcni.NetworkConfigList, rest int, rec *record, req Request) (*Result, error) {
	if err := createNetNS(rec.Runtime.NetNS); err != nil {
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%w: %w", errPathTaken, err)
		}
		return nil, fmt.Errorf("network: %w", err)
	}
	// The first plugins as a list of their own under the list's name and
	// bytes: libcni caches their result (the prevResult of the rest, and
	// of every plugin's DEL) as it would the whole list's.
	head := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[:rest], Bytes: list.Bytes}
	raw, err := m.cni.AddNetworkList(ctx, head, m.runtime(rec))
	if err != nil {
		return nil, fmt.Errorf("network mode %q: CNI network %q (plugins from %s): %w", req.Mode, list.Name, m.cfg.CNIPath, err)
	}
	return m.describe(list.Name, raw, rec, req)
}

// describe builds the allocation's Result from the CNI result of its
// plugins (its addresses; the gateway's DNS server) and writes its
// resolv.conf and hosts files.
func (m *Manager) describe(network string, raw types.Result, rec *record, req Request) (*Result, error) {
	res, err := types100.NewResultFromResult(raw)
	if err != nil {
		return nil, fmt.Errorf("network mode %q: read the CNI result: %w", req.Mode, err)
	}
	st := &structs.AllocNetworkStatus{InterfaceName: rec.Runtime.IfName, DNS: req.DNS.Copy()}
	for _, ip := range res.IPs {
		if ip.Interface == nil || *ip.Interface >= len(res.Interfaces) || res.Interfaces[*ip.Interface].Sandbox == "" {
			continue
		}
		if ip.Address.IP.IsLoopback() {
			continue
		}
		if ip.Address.IP.To4() != nil && st.Address == "" {
			st.Address = ip.Address.IP.String()
			st.InterfaceName = res.Interfaces[*ip.Interface].Name
		} else if ip.Address.IP.To4() == nil && st.AddressIPv6 == "" {
			st.AddressIPv6 = ip.Address.IP.String()
		}
	}
	if st.Address == "" && st.AddressIPv6 == "" {
		return nil, fmt.Errorf("network mode %q: CNI network %q gave the allocation no address", req.Mode, network)
	}
	if req.DNS == nil && req.Mode == structs.NetworkModeBridge && m.cfg.GatewayDNS != nil {
		for _, ip := range res.IPs {
			if ip.Gateway != nil && ip.Gateway.To4() != nil {
				srv, err := m.cfg.GatewayDNS(ip.Gateway)
				if err != nil {
					return nil, fmt.Errorf("network mode \"bridge\": serve DNS on the bridge gateway %s: %w", ip.Gateway, err)
				}
				req.DNS = &structs.DNSConfig{Servers: []string{srv}}
				st.DNS = req.DNS.Copy()
				rec.GatewayDNS = srv
				break
			}
		}
	}
	iso := &drivers.NetworkIsolation{Path: rec.Runtime.NetNS, Hostname: req.Hostname,
		ResolvConf: filepath.Join(m.filesDir(req.AllocID), "resolv.conf"), Hosts: filepath.Join(m.filesDir(req.AllocID), "hosts")}
	addr := st.Address
	if addr == "" {
		addr = st.AddressIPv6
	}
	if err := writeFile(iso.ResolvConf, resolvConf(req.DNS)); err != nil {
		return nil, fmt.Errorf("network: write resolv.conf: %w", err)
	}
	if err := writeFile(iso.Hosts, hostsFile(addr, req.Hostname)); err != nil {
		return nil, fmt.Errorf("network: write hosts: %w", err)
	}
	return &Result{Status: st, Isolation: iso}, nil
}

func (m *Manager) runtime(rec *record) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{ContainerID: rec.AllocID, NetNS: rec.Runtime.NetNS, IfName: rec.Runtime.IfName, Args: rec.Runtime.Args}
	if len(rec.Runtime.Ports) > 0 {
		rt.CapabilityArgs = map[string]any{"portMappings": rec.Runtime.Ports}
	}
	return rt
}

// headRuntime is the runtime of the plugins that gave the namespace its
// interface: those of a pooled namespace ran under the pool's ID.
func (m *Manager) headRuntime(rec *record) *libcni.RuntimeConf {
	rt := m.runtime(rec)
	if rec.Runtime.HeadID != "" {
		rt.ContainerID = rec.Runtime.HeadID
	}
	return rt
}

func (m *Manager) writeRecord(r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := writeFile(m.recordPath(r.AllocID), b); err != nil {
		return fmt.Errorf("network: record allocation %s: %w", r.AllocID, err)
	}
	return nil
}

// Teardown detaches the allocation's network (CNI DEL: veth, IPAM lease,
// port mappings, firewall rules) and removes its namespace. An allocation
// without a network is not an error. The background part of its setup,
// if still running, is stopped first (its plugins killed): the DEL then
// removes what they had added.
func (m *Manager) Teardown(ctx context.Context, allocID string) error {
	m.mu.Lock()
	if stop := m.rests[allocID]; stop != nil {
		stop()
	}
	m.mu.Unlock()
	defer m.lock(allocID)()
	return m.teardown(ctx, allocID)
}

func (m *Manager) teardown(ctx context.Context, allocID string) error {
	r, err := m.readRecord(allocID)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	list, err := libcni.ConfListFromBytes(r.ConfList)
	if err != nil {
		errs = append(errs, fmt.Errorf("network: recorded CNI network list of allocation %s: %w", allocID, err))
	} else if err := m.del(ctx, list, r); err != nil {
		errs = append(errs, fmt.Errorf("network: CNI DEL of allocation %s: %w", allocID, err))
	}
	if err := removeNetNS(r.Runtime.NetNS); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // keep the record: a later Teardown or Sweep retries
	}
	if err := os.RemoveAll(m.filesDir(allocID)); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	if err := os.Remove(m.recordPath(allocID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}

// needed is plugins without those that have nothing to do for the
// allocation of rec: bridge mode's portmap when it maps no port (its ADD
// would return the earlier plugins' result, its DEL nothing; each is a
// process start the allocation's start or teardown need not wait for).
func needed(rec *record, plugins []*libcni.PluginConfig) []*libcni.PluginConfig {
	if rec.Mode != structs.NetworkModeBridge || len(rec.Runtime.Ports) > 0 {
		return plugins
	}
	return slices.DeleteFunc(slices.Clone(plugins), func(p *libcni.PluginConfig) bool { return p.Network.Type == "portmap" })
}

// del runs the plugins' DEL for the network of r: in reverse order, the
// last plugins under the allocation's ID and, for a namespace of the warm
// pool, the first ones under the pool's.
func (m *Manager) del(ctx context.Context, list *libcni.NetworkConfigList, r *record) error {
	h := r.Runtime.Head
	sub := func(p []*libcni.PluginConfig) *libcni.NetworkConfigList {
		return &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: needed(r, p), Bytes: list.Bytes}
	}
	if r.Runtime.HeadID == "" || h <= 0 || h > len(list.Plugins) {
		return m.cni.DelNetworkList(ctx, sub(list.Plugins), m.runtime(r))
	}
	if tail := sub(list.Plugins[h:]); len(tail.Plugins) > 0 {
		if err := m.cni.DelNetworkList(ctx, tail, m.runtime(r)); err != nil {
			return err
		}
	}
	return m.cni.DelNetworkList(ctx, sub(list.Plugins[:h]), m.headRuntime(r))
}

// Attached lists the allocations with a recorded network.
func (m *Manager) Attached() ([]string, error) {
	entries, err := os.ReadDir(m.cfg.recordDir())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// sweepParallel is how many teardowns Sweep runs at once (each is mostly
// plugin and iptables processes waiting on the kernel).
const sweepParallel = 4

// Sweep tears down the networks of recorded allocations that keep says
// are gone (a client restarted after their allocations were removed),
// several at once. Once ctx ends it starts no more teardowns (their
// records stay for the next Sweep) and returns when those running end.
func (m *Manager) Sweep(ctx context.Context, keep func(allocID string) bool) error {
	ids, err := m.Attached()
	if err != nil {
		return err
	}
	// Before the allocations: an entry an allocation's record owns is
	// told apart by that record.
	perr := m.sweepPool(ctx)
	errs := make([]error, len(ids)+1)
	errs[len(ids)] = perr
	sem := make(chan struct{}, sweepParallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		if keep(id) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("network: sweep stopped before the teardown of allocation %s: %w", id, ctx.Err())
			break
		}
		m.cfg.Logger.Info("tearing down the network of an allocation that is gone", "alloc_id", id)
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = m.Teardown(ctx, id)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// bridgePlugins are the CNI plugins bridge mode runs.
var bridgePlugins = []string{"loopback", "bridge", "host-local", "firewall", "portmap"}

// Attributes fingerprints what the node offers: plugins.cni.version.<p>
// for each plugin bridge mode needs that is found in cni_path, and
// plugins.cni.config.<name> for each network list in cni_config_dir (the
// scheduler places bridge and cni/<name> groups only on nodes that have them).
func (m *Manager) Attributes() map[string]string {
	attrs := map[string]string{}
	for _, p := range bridgePlugins {
		for _, dir := range filepath.SplitList(m.cfg.CNIPath) {
			if st, err := os.Stat(filepath.Join(dir, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				attrs["plugins.cni.version."+p] = "1"
				break
			}
		}
	}
	files, _ := libcni.ConfFiles(m.cfg.CNIConfigDir, []string{".conf", ".conflist", ".json"})
	for _, f := range files {
		if list, err := libcni.NetworkConfFromFile(f); err == nil && list.Name != "" {
			attrs["plugins.cni.config."+list.Name] = "1"
		}
	}
	return attrs
}
