package network

import (
	"context"
	"crypto/sha512"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testManager returns a manager on a bridge and subnet of the test's own,
// and removes the bridge and its egress guard rule when the test ends.
func testManager(t *testing.T) *Manager { return benchManager(t) }

// testNets counts the test networks this process made: each gets its own
// bridge name and subnet, so two tests (or two test processes: this
// package's and the e2e tests', run at once by go test ./...) never share
// a bridge, a route or an IPAM range.
var testNets atomic.Int32

// freeSubnet returns a /24 under prefix ("172.31") that no interface,
// route or iptables rule of the host uses, chosen at random (not from the
// PID alone: two processes whose PIDs agree modulo the range would
// collide).
func freeSubnet(t testing.TB, prefix string) string {
	t.Helper()
	out, err := exec.Command("ip", "-4", "-o", "route", "show", "table", "all").CombinedOutput()
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	addrs, _ := exec.Command("ip", "-4", "-o", "addr").CombinedOutput()
	// And the subnets of rules left by a killed process (its bridge gone):
	// a test's before/after rule counts would include them, and a plugin's
	// DEL of the same address would remove them.
	rules, _ := exec.Command("iptables-save").CombinedOutput()
	used := string(out) + string(addrs) + string(rules)
	for range 100 {
		n := 20 + rand.IntN(230)
		if !strings.Contains(used, fmt.Sprintf("%s.%d.", prefix, n)) {
			return fmt.Sprintf("%s.%d.0/24", prefix, n)
		}
	}
	t.Fatalf("no free /24 under %s.0.0/16", prefix)
	return ""
}

// testAllocID returns an allocation ID of its own: namespace paths
// (/var/run/netns/nomadlike-<id>) and portmap's nftables rules (commented
// with the ID) are host-wide, so two test processes running at once must
// never use the same ID.
func testAllocID() string { return structs.GenerateUUID() }

// testBridgeName returns a bridge name unique to this process and test
// network (at most 15 characters, with room for a suffix).
func testBridgeName() string {
	return fmt.Sprintf("nlt%d%c", os.Getpid()%100000, 'a'+testNets.Add(1)%26)
}

// benchManager is a manager on the client's default cni_path: with
// scripts/test-deps.sh's portmap (/opt/cni/bin) first, bridge mode maps
// ports with the nftables backend.
func benchManager(t testing.TB) *Manager { t.Helper(); return benchManagerOn(t, DefaultCNIPath) }

// benchManagerOn is benchManager with the plugins of cniPath
// ("/usr/lib/cni": Debian's, whose portmap drives iptables).
func benchManagerOn(t testing.TB, cniPath string) *Manager {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("network tests need root")
		}
		t.Skip("network tests need root (network namespaces, bridges, iptables)")
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("the CNI plugins are missing: run scripts/test-deps.sh")
		}
		t.Skip("the CNI plugins are not installed (scripts/test-deps.sh installs containernetworking-plugins)")
	}
	name, subnet := testBridgeName(), freeSubnet(t, "172.31")
	m, err := New(Config{StateDir: t.TempDir(), CNIPath: cniPath, CNIConfigDir: t.TempDir(), BridgeName: name, BridgeSubnet: subnet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", name).Run()
		// Only this test's rule: the chain and its jump stay, as the
		// client leaves them, since another process may be using them
		// (removing the jump would unhook its guard).
		if err := removeEgressRule(subnet, name); err != nil {
			t.Errorf("remove the egress guard rule: %v", err)
		}
	})
	return m
}

// counts are the host objects an allocation's network makes: namespaces,
// veths on the bridge, iptables or nftables rules and portmap chains (or
// nft rule sets), IPAM leases.
type counts struct{ netns, veth, rules, chains, leases int }

// countHost counts what the manager's network holds on the host; allocs
// are the allocations the test attaches (their portmap chains are counted
// by name, present or leaked).
func countHost(t *testing.T, m *Manager, allocs ...string) counts {
	t.Helper()
	var c counts
	if es, err := os.ReadDir(NetNSDir); err == nil {
		for _, e := range es {
			if strings.HasPrefix(e.Name(), "nomadlike-") && slices.Contains(allocs, strings.TrimPrefix(e.Name(), "nomadlike-")) {
				c.netns++
			}
		}
	}
	out, _ := exec.Command("ip", "-o", "link", "show", "master", m.cfg.BridgeName).CombinedOutput()
	c.veth = strings.Count(string(out), "veth")
	chains := map[string]bool{}
	for _, id := range allocs {
		chains[portmapChain("DN-", m.cfg.BridgeName, id)] = true
		chains[portmapChain("SN-", m.cfg.BridgeName, id)] = true
	}
	for _, table := range []string{"filter", "nat", "mangle"} {
		rules, n := ourRules(t, table, m.cfg.BridgeSubnet, m.cfg.BridgeName, chains)
		c.rules += rules
		c.chains += n
	}
	rules, n := nftPortmap(allocs...)
	c.rules += rules
	c.chains += n
	es, _ := os.ReadDir(filepath.Join(m.cfg.ipamDir(), m.cfg.BridgeName))
	for _, e := range es {
		if net.ParseIP(e.Name()) != nil {
			c.leases++
		}
	}
	return c
}

// nftPortmap counts the rules of the portmap plugin's nftables backend
// (table ip cni_hostport) whose comment is one of the container IDs given,
// and how many of those IDs have any (their port-mapping "chains").
func nftPortmap(ids ...string) (rules, n int) {
	out, err := exec.Command("nft", "list", "table", "ip", "cni_hostport").CombinedOutput()
	if err != nil {
		return 0, 0 // no nft, or no table: no rules
	}
	for _, id := range ids {
		k := strings.Count(string(out), `comment "`+id+`"`)
		rules += k
		if k > 0 {
			n++
		}
	}
	return rules, n
}

// portmapChain is the name of the portmap plugin's per-allocation chain
// (its utils.FormatChainNameWithPrefix: "CNI-" prefix, then the first hex
// digits of sha512(network name + container ID), 28 characters in all).
func portmapChain(prefix, network, containerID string) string {
	return fmt.Sprintf("CNI-%s%x", prefix, sha512.Sum512([]byte(network+containerID)))[:28]
}

// ourRules counts the rules of a table that belong to the network (bridge,
// subnet), but for its egress guard: those naming its subnet or its name
// (portmap's comments), and those in the chains given; and it counts the
// chains given that exist. Other networks' rules (another test process's)
// are not counted, so a test's before/after counts hold while other tests
// run.
func ourRules(t *testing.T, table, subnet, bridge string, chains map[string]bool) (rules, n int) {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", table).CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save -t %s: %v: %s", table, err, out)
	}
	prefix := strings.TrimSuffix(strings.Split(subnet, "/")[0], "0")
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && strings.HasPrefix(f[0], ":") && chains[f[0][1:]]:
			n++
		case len(f) < 2 || f[0] != "-A" || strings.Contains(l, "egress guard"):
		case chains[f[1]] || strings.Contains(l, prefix) || strings.Contains(l, `name: \"`+bridge+`\"`):
			rules++
		}
	}
	return rules, n
}

// inNetNS runs f on a thread in the namespace at path.
func inNetNS(t *testing.T, path string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends in the namespace
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			t.Error(err)
			return
		}
		f()
	}()
	<-done
}

func guardDrops(t *testing.T, m *Manager) int {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "5", "-t", "mangle", "-L", EgressChain, "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		t.Fatalf("list the egress guard: %v: %s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "egress guard "+m.cfg.BridgeName) {
			n, _ := strconv.Atoi(strings.Fields(l)[0])
			return n
		}
	}
	t.Fatalf("no egress guard rule for %s in:\n%s", m.cfg.BridgeName, out)
	return 0
}

// TestBridgeEgressBlockedAndTeardownComplete runs with each portmap
// backend: nftables (test-deps.sh's plugin in /opt/cni/bin) and iptables
// (Debian's in /usr/lib/cni).
func TestBridgeEgressBlockedAndTeardownComplete(t *testing.T) {
	for _, c := range []struct{ backend, path string }{{backendNFTables, DefaultCNIPath}, {backendIPTables, "/usr/lib/cni"}} {
		t.Run(c.backend, func(t *testing.T) {
			if got := portmapBackend(c.path); got != c.backend {
				skipOrFail(t, fmt.Sprintf("the portmap plugin in %s uses %s, not %s: run scripts/test-deps.sh", c.path, got, c.backend))
			}
			testBridgeEgressBlockedAndTeardownComplete(t, benchManagerOn(t, c.path))
		})
	}
}

// egressBlockedAndPortServes checks an attached network: egress first (a
// new connection to a non-local address is dropped by the guard), then
// hostPort on the host's loopback reaches a server in the namespace.
func egressBlockedAndPortServes(t *testing.T, m *Manager, res *Result, hostPort int) {
	t.Helper()
	egressBlocked(t, m, res)

	// The mapped port reaches a server in the namespace from the host's loopback.
	served := make(chan error, 1)
	inNetNS(t, res.Isolation.Path, func() {
		l, err := net.Listen("tcp", ":80")
		if err != nil {
			t.Error(err)
			return
		}
		go func() {
			c, err := l.Accept()
			if err == nil {
				_, err = c.Write([]byte("hello"))
				c.Close()
			}
			l.Close()
			served <- err
		}()
	})
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)), 5*time.Second)
	if err != nil {
		t.Fatalf("mapped port: %v", err)
	}
	buf := make([]byte, 5)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read through the mapped port: %q %v", buf, err)
	}
	c.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// egressBlocked checks that a new connection from the attached network
// to a non-local address is dropped by the egress guard.
func egressBlocked(t *testing.T, m *Manager, res *Result) {
	t.Helper()
	drops := guardDrops(t, m)
	inNetNS(t, res.Isolation.Path, func() {
		c, err := net.DialTimeout("tcp", "192.0.2.1:80", 700*time.Millisecond)
		if err == nil {
			c.Close()
			t.Error("a connection to 192.0.2.1 left the host")
		}
	})
	if got := guardDrops(t, m); got <= drops {
		t.Fatalf("the egress guard dropped nothing (%d packets before, %d after)", drops, got)
	}
}

// skipOrFail skips the test for why, or fails it under NOMADLIKE_REQUIRE_ALL=1.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func testBridgeEgressBlockedAndTeardownComplete(t *testing.T, m *Manager) {
	ctx := context.Background()
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	alloc := testAllocID()
	before := countHost(t, m, alloc)
	// A server on the host's loopback, reached through a mapped port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	hostPort := ln.Addr().(*net.TCPAddr).Port

	res, err := m.Setup(ctx, Request{AllocID: alloc, Mode: "bridge", Hostname: "web",
		Ports: []structs.PortMapping{{Label: "http", Value: hostPort, To: 80}},
		DNS:   &structs.DNSConfig{Servers: []string{"10.0.0.53"}, Searches: []string{"svc.internal"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(res.Status.Address)
	if _, sub, _ := net.ParseCIDR(m.cfg.BridgeSubnet); ip == nil || !sub.Contains(ip) {
		t.Fatalf("address %q is not in the bridge subnet %s", res.Status.Address, m.cfg.BridgeSubnet)
	}
	rc, _ := os.ReadFile(res.Isolation.ResolvConf)
	if !strings.Contains(string(rc), "nameserver 10.0.0.53\n") || !strings.Contains(string(rc), "search svc.internal") {
		t.Fatalf("resolv.conf:\n%s", rc)
	}

	egressBlockedAndPortServes(t, m, res, hostPort)

	during := countHost(t, m, alloc)
	if during.netns != before.netns+1 || during.veth != before.veth+1 || during.leases != before.leases+1 || during.rules <= before.rules || during.chains != before.chains+1 {
		t.Fatalf("while attached: %+v, before: %+v", during, before)
	}
	// Setup again (a restarted client) keeps the same network.
	again, err := m.Setup(ctx, Request{AllocID: alloc, Mode: "bridge"})
	if err != nil || again.Status.Address != res.Status.Address {
		t.Fatalf("re-attach: %+v %v", again, err)
	}
	// A restarted manager that no longer knows the allocation sweeps it.
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Sweep(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, alloc); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
	if ids, _ := m.Attached(); len(ids) != 0 {
		t.Fatalf("records left: %v", ids)
	}
}

func TestCNIModeUnknownNetworkSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	m, err := New(Config{StateDir: t.TempDir(), CNIConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Setup(context.Background(), Request{AllocID: testAllocID(), Mode: "cni/mynet"})
	if err == nil || !strings.Contains(err.Error(), `no CNI network named "mynet" in `+dir) {
		t.Fatalf("error = %v", err)
	}
}

func TestConfigChecks(t *testing.T) {
	for _, c := range []Config{{BridgeSubnet: "not-a-cidr"}, {BridgeName: "a-very-long-bridge-name"}} {
		c.StateDir = t.TempDir()
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestCNIModeUserNetwork attaches an allocation to a user's network list
// from the CNI config dir (mode "cni/<name>"): a bridge without a gateway
// or routes, so nothing but its subnet is reachable.
func TestCNIModeUserNetwork(t *testing.T) {
	m := testManager(t)
	name := m.cfg.BridgeName + "u"
	subnet := freeSubnet(t, "172.29")
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": %q, "plugins": [
  {"type": "loopback"},
  {"type": "bridge", "bridge": %q, "ipMasq": false, "isGateway": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}}]}`,
		name, name, subnet, filepath.Join(m.cfg.StateDir, "user-ipam"))
	if err := os.WriteFile(filepath.Join(m.cfg.CNIConfigDir, name+".conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", name).Run() })
	attrs := m.Attributes()
	for _, k := range []string{"plugins.cni.config." + name, "plugins.cni.version.bridge", "plugins.cni.version.portmap"} {
		if attrs[k] == "" {
			t.Errorf("fingerprint lacks %s: %v", k, attrs)
		}
	}
	ctx := context.Background()
	alloc := testAllocID()
	// The cni block's args reach the plugins in CNI_ARGS: host-local takes
	// the address IP asks for, and ignores FancyMessage (IgnoreUnknown).
	want := strings.TrimSuffix(subnet, "0/24") + "77"
	res, err := m.Setup(ctx, Request{AllocID: alloc, Mode: "cni/" + name,
		CNIArgs: map[string]string{"IP": want, "FancyMessage": "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Address != want || res.Status.InterfaceName != "eth0" {
		t.Fatalf("status %+v, want eth0 with the address %s the CNI args ask for", res.Status, want)
	}
	inNetNS(t, res.Isolation.Path, func() {
		if _, err := net.DialTimeout("tcp", "192.0.2.1:80", time.Second); err == nil {
			t.Error("a connection to 192.0.2.1 succeeded from a network without routes")
		}
	})
	if err := m.Teardown(ctx, alloc); err != nil {
		t.Fatal(err)
	}
	if isNetNS(res.Isolation.Path) {
		t.Fatal("namespace left after teardown")
	}
	if out, _ := exec.Command("ip", "-o", "link", "show", "master", name).CombinedOutput(); strings.Contains(string(out), "veth") {
		t.Fatalf("veth left on %s after teardown:\n%s", name, out)
	}
	leases, _ := os.ReadDir(filepath.Join(m.cfg.StateDir, "user-ipam", name))
	for _, e := range leases {
		if net.ParseIP(e.Name()) != nil {
			t.Fatalf("lease %s left after teardown", e.Name())
		}
	}
}

// masqRules lists the nat table's MASQUERADE rules the bridge plugin made
// for an allocation (its comment names the network and the allocation).
func masqRules(t *testing.T, m *Manager, allocID string) []string {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "5", "-t", "nat", "-S").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -t nat -S: %v: %s", err, out)
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "-j MASQUERADE") && strings.Contains(l, `id: \"`+allocID+`\"`) && strings.Contains(l, `name: \"`+m.cfg.BridgeName+`\"`) {
			rules = append(rules, l)
		}
	}
	return rules
}

// hasGuardRule reports whether the egress guard has its rule for the
// manager's subnet.
func hasGuardRule(m *Manager) bool {
	_, err := iptables(append([]string{"-t", "mangle", "-C", EgressChain}, egressRule(m.cfg.BridgeSubnet, m.cfg.BridgeName)...)...)
	return err == nil
}

// TestBridgeMasqueradeOptIn checks the rules only (iptables listings): no
// packet is sent. By default the bridge has no masquerade rule and the
// subnet has its egress guard; with Masquerade the bridge plugin
// masquerades the allocation's address and the guard rule is gone (even
// one an earlier run left); teardown removes the masquerade rule.
func TestBridgeMasqueradeOptIn(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	plain, masq := testAllocID(), testAllocID()
	if _, err := m.Setup(ctx, Request{AllocID: plain, Mode: "bridge"}); err != nil {
		t.Fatal(err)
	}
	if r := masqRules(t, m, plain); len(r) != 0 {
		t.Fatalf("masquerade by default: %q", r)
	}
	if !hasGuardRule(m) {
		t.Fatal("no egress guard rule for the subnet by default")
	}
	if err := m.Teardown(ctx, plain); err != nil {
		t.Fatal(err)
	}

	cfg := m.Config()
	cfg.Masquerade = true
	mm, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := countHost(t, mm, masq)
	if _, err := mm.Setup(ctx, Request{AllocID: masq, Mode: "bridge"}); err != nil {
		t.Fatal(err)
	}
	if r := masqRules(t, mm, masq); len(r) != 1 {
		t.Fatalf("with masquerade: %d MASQUERADE rules for the allocation, want 1: %q", len(r), r)
	}
	if hasGuardRule(mm) {
		t.Fatal("with masquerade, the subnet still has its egress guard rule (outbound traffic would be dropped)")
	}
	if err := mm.Teardown(ctx, masq); err != nil {
		t.Fatal(err)
	}
	if r := masqRules(t, mm, masq); len(r) != 0 {
		t.Fatalf("masquerade rules left after teardown: %q", r)
	}
	if after := countHost(t, mm, masq); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}

// TestBridgeRestOfSetupInBackground: Setup returns with the address while
// the firewall and portmap plugins run; a Teardown right away stops them
// (or finds them done) and leaves nothing behind; a record whose background part never
// completed (a client killed meanwhile) has it run again on re-attach,
// without duplicating a rule.
func TestBridgeRestOfSetupInBackground(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	a1, a2 := testAllocID(), testAllocID()
	before := countHost(t, m, a1, a2)
	req := func(id string, port int) Request {
		return Request{AllocID: id, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: port, To: 80}}}
	}
	res, err := m.Setup(ctx, req(a1, 41001))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Address == "" || !isNetNS(res.Isolation.Path) {
		t.Fatalf("Setup returned without an address or namespace: %+v", res.Status)
	}
	if err := m.Teardown(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil && !strings.Contains(err.Error(), "torn down during its setup") {
		t.Fatalf("the background setup (which the teardown stopped): %v", err)
	}
	if after := countHost(t, m, a1, a2); after != before {
		t.Fatalf("after a teardown during the background setup: %+v, before: %+v", after, before)
	}

	res, err = m.Setup(ctx, req(a2, 41002))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	during := countHost(t, m, a1, a2)
	if during.rules <= before.rules || during.chains != before.chains+1 {
		t.Fatalf("attached: %+v, before: %+v", during, before)
	}
	rec, err := m.readRecord(a2)
	if err != nil || rec.Rest != 0 {
		t.Fatalf("record after the background setup: %+v %v", rec, err)
	}
	rec.Rest = bridgeRest // as if the client had been killed before it completed
	if err := m.writeRecord(rec); err != nil {
		t.Fatal(err)
	}
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m2.Setup(ctx, req(a2, 41002))
	if err != nil || again.Status.Address != res.Status.Address {
		t.Fatalf("re-attach: %+v %v", again, err)
	}
	if err := again.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := countHost(t, m, a1, a2); got != during {
		t.Fatalf("after the background part ran again: %+v, want %+v", got, during)
	}
	if rec, err := m2.readRecord(a2); err != nil || rec.Rest != 0 {
		t.Fatalf("record after the re-run: %+v %v", rec, err)
	}
	if err := m2.Teardown(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, a1, a2); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}

// TestSweepTearsDownGoneAllocationsAtOnce: a restarted client's Sweep
// tears down, concurrently, every recorded network but those it keeps.
func TestSweepTearsDownGoneAllocationsAtOnce(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = testAllocID()
	}
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	before := countHost(t, m, ids...)
	for i, id := range ids {
		res, err := m.Setup(ctx, Request{AllocID: id, Mode: "bridge", Ports: []structs.PortMapping{{Label: "p", Value: 41100 + i, To: 80}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Sweep(ctx, func(id string) bool { return id == ids[0] }); err != nil {
		t.Fatal(err)
	}
	if got, _ := m2.Attached(); !slices.Equal(got, ids[:1]) {
		t.Fatalf("attached after the sweep: %v, want %v", got, ids[:1])
	}
	one := countHost(t, m, ids...)
	if one.netns != before.netns+1 || one.veth != before.veth+1 || one.leases != before.leases+1 || one.chains != before.chains+1 {
		t.Fatalf("after the sweep: %+v, before: %+v (one allocation kept)", one, before)
	}
	if err := m2.Teardown(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, ids...); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}

// failingFirewall is a firewall plugin whose ADD fails (its DEL succeeds).
const failingFirewall = "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n  echo '{\"cniVersion\": \"1.0.0\", \"code\": 999, \"msg\": \"firewall refused by the test\"}'\n  exit 1\nfi\nexit 0\n"

// slowFirewall is a firewall plugin whose ADD never completes (it sleeps
// a minute; its DEL is the real plugin's).
const slowFirewall = "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n  exec sleep 60\nfi\nexec /usr/lib/cni/firewall\n"

// managerWithFirewall is testManager with the firewall plugin script
// given (fakeFirewallPath) and its egress guard installed.
func managerWithFirewall(t *testing.T, script string) *Manager {
	t.Helper()
	cfg := testManager(t).Config()
	cfg.CNIPath = fakeFirewallPath(t, script)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeFirewallPath returns a CNI path with the real plugins but the
// firewall plugin script given.
func fakeFirewallPath(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"loopback", "bridge", "host-local", "portmap"} {
		if err := os.Symlink(filepath.Join("/usr/lib/cni", p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "firewall"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBridgeRestFailureIsReported: a plugin of the background part that
// fails makes Wait return its error; the teardown then leaves nothing.
func TestBridgeRestFailureIsReported(t *testing.T) {
	m := managerWithFirewall(t, failingFirewall)
	ctx := context.Background()
	alloc := testAllocID()
	before := countHost(t, m, alloc)
	res, err := m.Setup(ctx, Request{AllocID: alloc, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: 41201, To: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err == nil || !strings.Contains(err.Error(), "firewall refused by the test") {
		t.Fatalf("Wait = %v, want the firewall plugin's error", err)
	}
	if rec, err := m.readRecord(alloc); err != nil || rec.Rest != bridgeRest {
		t.Fatalf("record after the failure: %+v %v (want Rest kept)", rec, err)
	}
	if err := m.Teardown(ctx, alloc); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, alloc); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}

// TestTeardownStopsTheBackgroundSetup: an allocation stopped while the
// background part of its setup still runs (a firewall plugin that hangs)
// is torn down at once, not after the part's 2-minute bound, and leaves
// nothing on the host (portmap's rules, added meanwhile, are removed).
func TestTeardownStopsTheBackgroundSetup(t *testing.T) {
	m := managerWithFirewall(t, slowFirewall)
	ctx := context.Background()
	alloc := testAllocID()
	before := countHost(t, m, alloc)
	res, err := m.Setup(ctx, Request{AllocID: alloc, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: 41301, To: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Teardown(ctx, alloc); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("teardown took %v: it waited for the hanging plugin", took)
	}
	if err := res.Wait(ctx); err == nil || !strings.Contains(err.Error(), "torn down during its setup") {
		t.Fatalf("Wait = %v, want the setup reported stopped by the teardown", err)
	}
	if after := countHost(t, m, alloc); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
	if ids, _ := m.Attached(); len(ids) != 0 {
		t.Fatalf("records left: %v", ids)
	}
}

// TestPortmapBackendChoice: nftables only for a portmap plugin whose Go
// build info says containernetworking/plugins v1.9.0 or later; Debian's
// (no module version), a non-Go file or no plugin mean iptables.
func TestPortmapBackendChoice(t *testing.T) {
	dir := t.TempDir()
	if got := portmapBackend(dir); got != backendIPTables {
		t.Errorf("no portmap plugin: %s, want iptables", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "portmap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := portmapBackend(dir + ":/opt/cni/bin"); got != backendIPTables {
		t.Errorf("a script first in the path: %s, want iptables (the first plugin found is the one libcni runs)", got)
	}
	if _, err := os.Stat("/usr/lib/cni/portmap"); err == nil {
		if got := portmapBackend("/usr/lib/cni"); got != backendIPTables {
			t.Errorf("Debian's portmap: %s, want iptables", got)
		}
	}
	if got := portmapBackend("/opt/cni/bin"); got != backendNFTables {
		skipOrFail(t, "/opt/cni/bin/portmap is not containernetworking/plugins "+minNFTablesPortmap+" or later, or nft is missing: run scripts/test-deps.sh")
	}
}

// TestTeardownUsesRecordedBackend: an allocation set up with portmap's
// iptables backend is torn down with it by a client that now picks
// nftables (the record keeps the network list), leaving nothing behind.
func TestTeardownUsesRecordedBackend(t *testing.T) {
	if portmapBackend(DefaultCNIPath) != backendNFTables {
		skipOrFail(t, "no portmap plugin with the nftables backend in "+DefaultCNIPath+": run scripts/test-deps.sh")
	}
	old := benchManagerOn(t, "/usr/lib/cni")
	ctx := context.Background()
	if err := old.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	alloc := testAllocID()
	before := countHost(t, old, alloc)
	res, err := old.Setup(ctx, Request{AllocID: alloc, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: 41201, To: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n := nftPortmap(alloc); n != 0 {
		t.Fatal("the iptables backend wrote nftables rules")
	}
	cfg := old.cfg
	cfg.CNIPath = DefaultCNIPath
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.bridge.Bytes), `"backend":"nftables"`) {
		t.Fatalf("the new manager's bridge list: %s", m.bridge.Bytes)
	}
	if err := m.Teardown(ctx, alloc); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, alloc); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}

// TestTwoTestProcessesAtOnce runs two processes of this package's tests
// at once (as go test ./... runs this package's and the allocrunner's or
// e2e's network tests side by side): their allocation IDs, host-wide in
// namespace paths and portmap's rules, must not collide, so both pass.
func TestTwoTestProcessesAtOnce(t *testing.T) {
	if os.Getenv("NOMADLIKE_NET_CHILD") == "1" {
		t.Skip("in a child process")
	}
	testManager(t) // skips without root or plugins
	const tests = "^(TestBridgeRestFailureIsReported|TestTeardownUsesRecordedBackend)$"
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run", tests, "-test.count", "2")
		cmd.Env = append(os.Environ(), "NOMADLIKE_NET_CHILD=1")
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("test process %d: %v:\n%s", i, err, outs[i])
		}
	}
}
