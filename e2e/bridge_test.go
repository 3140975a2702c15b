package e2e

import (
	"crypto/sha512"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// bridgeLab is a bridge network of the test's own (name and subnet unique
// to the run), with what the test must remove when it ends: the bridge and
// the egress guard's rule (the client leaves both, as Nomad leaves its
// bridge).
type bridgeLab struct {
	name, subnet, prefix string
	// owns are the allocations the test ran (their namespaces are purged).
	owns map[string]bool
}

func newBridgeLab(t *testing.T) *bridgeLab {
	t.Helper()
	requireContainerHost(t)
	why := ""
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		why = "the CNI plugins are not installed in /usr/lib/cni (scripts/test-deps.sh installs containernetworking-plugins)"
	} else if _, err := exec.LookPath("iptables"); err != nil {
		why = "iptables is not installed"
	}
	if why != "" {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal(why + "; NOMADLIKE_REQUIRE_ALL=1 makes this a failure")
		}
		t.Skip(why)
	}
	// A random free /24 (not one from the PID alone: two processes whose
	// PIDs agree modulo the range would share it).
	n := freeOctet(t, "172.30")
	l := &bridgeLab{name: fmt.Sprintf("nle%d", os.Getpid()%100000), subnet: fmt.Sprintf("172.30.%d.0/24", n), prefix: fmt.Sprintf("172.30.%d.", n), owns: map[string]bool{}}
	t.Cleanup(func() {
		l.purge(t)
		_ = exec.Command("ip", "link", "del", l.name).Run()
		rule := l.guardRule()
		// Only the lab's rule: the chain and its jump stay, as the client
		// leaves them (another test process may have a rule in the chain;
		// removing the jump would unhook its guard).
		_ = exec.Command("iptables", append([]string{"-w", "5", "-t", "mangle", "-D", "NOMADLIKE-EGRESS"}, rule...)...).Run()
	})
	return l
}

// freeOctet returns N such that prefix.N.0/24 is used by no interface or
// route of the host, chosen at random.
func freeOctet(t *testing.T, prefix string) int {
	t.Helper()
	routes, _ := exec.Command("ip", "-4", "-o", "route", "show", "table", "all").CombinedOutput()
	addrs, _ := exec.Command("ip", "-4", "-o", "addr").CombinedOutput()
	used := string(routes) + string(addrs)
	for range 100 {
		if n := 20 + rand.IntN(230); !strings.Contains(used, fmt.Sprintf("%s.%d.", prefix, n)) {
			return n
		}
	}
	t.Fatalf("no free /24 under %s.0.0/16", prefix)
	return 0
}

// purge removes what a failed test left (the agent stopped with
// allocations attached): their namespaces, and the iptables rules of the
// lab's network and its port-mapping chains.
func (l *bridgeLab) purge(t *testing.T) {
	es, _ := os.ReadDir("/var/run/netns")
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "nomadlike-") && l.owns[strings.TrimPrefix(e.Name(), "nomadlike-")] {
			t.Logf("removing leftover network namespace %s", e.Name())
			_ = exec.Command("ip", "netns", "del", e.Name()).Run()
		}
	}
	for _, table := range []string{"filter", "nat"} {
		out, _ := exec.Command("iptables-save", "-t", table).CombinedOutput()
		var chains []string
		for _, line := range strings.Split(string(out), "\n") {
			if !l.ours(line) {
				continue
			}
			t.Logf("removing leftover iptables rule: %s", line)
			_ = exec.Command("sh", "-c", "iptables -w 5 -t "+table+" -D "+strings.TrimPrefix(line, "-A ")).Run()
			if i := strings.Index(line, "-j CNI-DN-"); i >= 0 {
				chains = append(chains, strings.TrimPrefix(line[i:], "-j "))
			}
		}
		for _, c := range chains {
			_ = exec.Command("iptables", "-w", "5", "-t", table, "-F", c).Run()
			_ = exec.Command("iptables", "-w", "5", "-t", table, "-X", c).Run()
		}
	}
	// The portmap plugin's nftables rules: each has its allocation's ID as
	// comment (nft -a prints "# handle N" after it).
	out, _ := exec.Command("nft", "-a", "list", "table", "ip", "cni_hostport").CombinedOutput()
	chain := ""
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "chain" {
			chain = f[1]
		}
		for id := range l.owns {
			if i := strings.LastIndex(line, "# handle "); i > 0 && strings.Contains(line, `comment "`+id+`"`) {
				t.Logf("removing leftover nftables rule: %s", strings.TrimSpace(line))
				_ = exec.Command("nft", "delete", "rule", "ip", "cni_hostport", chain, "handle", strings.TrimSpace(line[i+len("# handle "):])).Run()
			}
		}
	}
}

// ours reports whether an iptables-save line is a rule of the lab's
// network: it names the subnet or the network (portmap's comments).
func (l *bridgeLab) ours(line string) bool {
	return strings.HasPrefix(line, "-A") && !strings.Contains(line, "egress guard") &&
		(strings.Contains(line, l.prefix) || strings.Contains(line, `name: \"`+l.name+`\"`))
}

// guardRule is the egress guard's rule for the lab's subnet (as the client
// writes it; network/egress.go).
func (l *bridgeLab) guardRule() []string {
	return []string{"-s", l.subnet, "!", "-d", l.subnet, "-m", "addrtype", "!", "--dst-type", "LOCAL",
		"-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-m", "comment", "--comment", "nomadlike egress guard " + l.name, "-j", "DROP"}
}

func (l *bridgeLab) clientHCL(dnsAddr string) string {
	// The client's default cni_path: with scripts/test-deps.sh's portmap
	// in /opt/cni/bin, ports are mapped by its nftables backend.
	return fmt.Sprintf("  cni_path = \"/opt/cni/bin:/usr/lib/cni\"\n  bridge_network_name = %q\n  bridge_network_subnet = %q\n  dns_address = %q\n", l.name, l.subnet, dnsAddr)
}

// guardDrops is the packet count of the lab's egress guard rule (-1: no rule).
func (l *bridgeLab) guardDrops(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "5", "-t", "mangle", "-L", "NOMADLIKE-EGRESS", "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "egress guard "+l.name) {
			n, _ := strconv.Atoi(strings.Fields(line)[0])
			return n
		}
	}
	return -1
}

// hostNet counts what allocations' networks leave on the host.
type hostNet struct{ netns, veth, rules, chains, leases int }

// poolNetNS counts the namespaces of the client's warm pool on the lab's
// bridge.
func (l *bridgeLab) poolNetNS() int {
	n := 0
	es, _ := os.ReadDir("/var/run/netns")
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "nomadlike-pool-"+l.name+"-") {
			n++
		}
	}
	return n
}

// count counts what the lab's allocations (those it learned the IDs of)
// hold on the host: namespaces, veths on the bridge, rules naming the
// subnet or the network, the portmap chains of those allocations (by
// name, present or leaked, or their nftables rules) and their rules,
// IPAM leases. Other tests'
// networks (the network package's, run at the same time by go test ./...)
// are not counted.
func (l *bridgeLab) count(dataDir string) hostNet {
	var c hostNet
	es, _ := os.ReadDir("/var/run/netns")
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "nomadlike-") && l.owns[strings.TrimPrefix(e.Name(), "nomadlike-")] {
			c.netns++
		}
	}
	// Not the client's warm pool (poolNetNS): its veths' peers are in its
	// namespaces.
	out, _ := exec.Command("ip", "-o", "link", "show", "master", l.name).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "veth") && !strings.Contains(line, "link-netns nomadlike-pool-") {
			c.veth++
		}
	}
	// Leases (read before the rules: a pool entry's lease is taken before
	// its firewall rules are written and released after they are gone),
	// but those of the pool's namespaces not yet claimed: the lease file
	// holds the container ID, which is the namespace's name after
	// "nomadlike-" until an allocation takes it (it is then moved).
	var poolIPs []string
	ipam := filepath.Join(dataDir, "client", "network", "ipam", l.name)
	leases, _ := os.ReadDir(ipam)
	for _, e := range leases {
		if net.ParseIP(e.Name()) == nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(ipam, e.Name()))
		id, _, _ := strings.Cut(string(b), "\r")
		if _, err := os.Stat("/var/run/netns/nomadlike-" + id); err == nil && strings.HasPrefix(id, "pool-") {
			poolIPs = append(poolIPs, e.Name()+"/32")
			continue
		}
		c.leases++
	}
	pooled := func(line string) bool {
		return slices.ContainsFunc(poolIPs, func(ip string) bool { return strings.Contains(line, ip) })
	}
	// The portmap plugin's chain of an allocation: "CNI-DN-" and the first
	// hex digits of sha512(network name + container ID), 28 characters.
	chains := map[string]bool{}
	for id := range l.owns {
		chains[fmt.Sprintf("CNI-DN-%x", sha512.Sum512([]byte(l.name+id)))[:28]] = true
	}
	for _, table := range []string{"filter", "nat", "mangle"} {
		out, _ := exec.Command("iptables-save", "-t", table).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 0 && strings.HasPrefix(f[0], ":") && chains[f[0][1:]]:
				c.chains++
			case l.ours(line) && !pooled(line) || len(f) > 1 && f[0] == "-A" && chains[f[1]]:
				c.rules++
			}
		}
	}
	// Or its rules in the nftables backend's table, whose comment is its
	// ID: the allocation's set of rules counts as one chain.
	nft, _ := exec.Command("nft", "list", "table", "ip", "cni_hostport").CombinedOutput()
	for id := range l.owns {
		if n := strings.Count(string(nft), `comment "`+id+`"`); n > 0 {
			c.rules += n
			c.chains++
		}
	}
	return c
}

const egressJob = `
job "e2e-egress" {
  datacenters = ["*"]
  type        = "batch"
  group "probe" {
    network {
      mode = "bridge"
      dns {
        servers  = ["127.0.0.53"]
        searches = ["e2e.internal"]
      }
    }
    task "probe" {
      driver = "container"
      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "if busybox nc -w 3 192.0.2.1 80 </dev/null 2>&1; then echo EGRESS-OPEN; else echo EGRESS-BLOCKED; fi; busybox cat /etc/resolv.conf"]
      }
      env {
        E2E_RUN = "%s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

const bridgeWebJob = `
job "e2e-bridge" {
  datacenters = ["*"]
  type        = "service"
  group "web" {
    count = 2
    network {
      mode     = "bridge"
      hostname = "web"
      port "http" {
        to = 80
      }
    }
    service {
      name     = "bridge-web"
      port     = "http"
      provider = "nomad"
    }
    service {
      name     = "bridge-web-checked"
      port     = "http"
      provider = "nomad"
      check {
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "1s"
      }
    }
    service {
      name         = "bridge-web-alloc"
      port         = "http"
      provider     = "nomad"
      address_mode = "alloc"
    }
    task "web" {
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "busybox mkdir -p /local/www && if [ $NOMAD_ALLOC_INDEX = 0 ]; then echo ok > /local/www/health; fi && echo \"alloc=$NOMAD_ALLOC_ID port=$NOMAD_PORT_http host_port=$NOMAD_HOST_PORT_http alloc_addr=$NOMAD_ALLOC_ADDR_http\" > /local/www/index.html && exec busybox httpd -f -p 80 -h /local/www"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
    task "rawpeer" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 2 127.0.0.1 80 | /bin/busybox tail -n 1 > $NOMAD_ALLOC_DIR/data/raw.tmp && mv $NOMAD_ALLOC_DIR/data/raw.tmp $NOMAD_ALLOC_DIR/data/raw-fetched; sleep 1; done"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
    task "peer" {
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "while true; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 127.0.0.1 80 | busybox tail -n 1 > /alloc/data/fetched.tmp && busybox mv /alloc/data/fetched.tmp /alloc/data/fetched; busybox sleep 1; done"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestBridgeNetworking runs bridge-mode groups on the container driver.
// First (before anything else) a task's connection to a non-local address
// must be dropped by the egress guard on this host. Then two copies of a
// group of three tasks (an HTTP server on port 80 and two peers, a
// container and a raw_exec task, reaching it at 127.0.0.1:80 inside the
// group) are reachable from the host on their
// mapped ports, survive a SIGKILL and restart of the client agent on the
// same network, and stopping them leaves no namespace, veth, iptables rule
// or IPAM lease behind.
func TestBridgeNetworking(t *testing.T) {
	l := newBridgeLab(t)
	killLeftovers(t)
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", freeport.TCP(t))
	a := startAgent(t, agentOpts{clientExtra: l.clientHCL(dnsAddr)})
	dir := t.TempDir()
	image := busyboxLayout(t)
	before := l.count(a.dataDir)

	// 1. Egress is blocked.
	out := runBatchToEnd(t, a, l, dir, "egress", fmt.Sprintf(egressJob, image, runToken), "probe")
	if !strings.Contains(string(out), "EGRESS-BLOCKED") || strings.Contains(string(out), "EGRESS-OPEN") {
		t.Fatalf("egress probe output:\n%s", out)
	}
	if ns := regexp.MustCompile(`(?m)^nameserver .*$`).FindAllString(string(out), -1); len(ns) != 1 || ns[0] != "nameserver 127.0.0.53" || !strings.Contains(string(out), "search e2e.internal\n") {
		t.Fatalf("the probe's resolv.conf must hold its dns block only, got %q:\n%s", ns, out)
	}
	if n := l.guardDrops(t); n < 1 {
		t.Fatalf("the egress guard for %s dropped %d packets; the probe's connection must have been dropped by it; probe output:\n%s", l.subnet, n, out)
	}
	waitFor(t, 30*time.Second, "the probe's network to be torn down", func() (bool, string) {
		c := l.count(a.dataDir)
		return c == before, fmt.Sprintf("%+v, before %+v", c, before)
	})

	// 2. Two copies of the web group, each with its own network.
	writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(bridgeWebJob, image, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "web.nomad.hcl"); code != 0 {
		t.Fatalf("job run web exited %d:\n%s", code, out)
	}
	var ids []string
	waitFor(t, 90*time.Second, "two running web allocations", func() (bool, string) {
		r := runningAllocs(t, a, "e2e-bridge")
		ids = ids[:0]
		for _, s := range r {
			ids = append(ids, s.ID)
			l.owns[s.ID] = true
		}
		return len(ids) == 2, fmt.Sprintf("%d running", len(ids))
	})
	addrs := map[string]string{}
	check := func(phase string) {
		t.Helper()
		for _, id := range ids {
			ctx, cancel := ctx10s()
			al, _, err := a.api().Allocation(ctx, id, nil)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			st := al.NetworkStatus
			if st == nil || !strings.HasPrefix(st.Address, l.prefix) || st.InterfaceName != "eth0" {
				t.Fatalf("%s: allocation %s network status %+v, want an eth0 address in %s", phase, id, st, l.subnet)
			}
			if prev, ok := addrs[id]; ok && prev != st.Address {
				t.Fatalf("%s: allocation %s moved from %s to %s", phase, id, prev, st.Address)
			}
			addrs[id] = st.Address
			hostPort := 0
			for _, p := range al.AllocatedResources.Shared.Ports {
				if p.Label == "http" {
					hostPort = p.Value
				}
			}
			want := fmt.Sprintf("alloc=%s port=80 host_port=%d alloc_addr=%s:80", id, hostPort, st.Address)
			waitFor(t, 30*time.Second, phase+": allocation "+id[:8]+" through host port "+strconv.Itoa(hostPort), func() (bool, string) {
				body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", hostPort))
				return err == nil && strings.TrimSpace(body) == want, fmt.Sprintf("%q %v, want %q", body, err, want)
			})
			for _, f := range []string{"fetched", "raw-fetched"} {
				waitFor(t, 30*time.Second, phase+": the peer task reaching the server at 127.0.0.1:80 ("+f+")", func() (bool, string) {
					b, err := os.ReadFile(filepath.Join(a.dataDir, "alloc", id, "alloc", "data", f))
					return err == nil && strings.TrimSpace(string(b)) == want, fmt.Sprintf("%q %v", b, err)
				})
			}
		}
	}
	check("started")
	during := l.count(a.dataDir)
	if during.netns != before.netns+2 || during.veth != before.veth+2 || during.leases != before.leases+2 || during.chains != before.chains+2 || during.rules <= before.rules {
		t.Fatalf("with two allocations: %+v, before: %+v", during, before)
	}
	// Services: auto registers the host port, alloc the allocation's address and port 80.
	waitFor(t, 30*time.Second, "the alloc-mode service registrations", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		regs, _, err := a.api().ServiceRegistrations(ctx, "bridge-web-alloc", nil)
		if err != nil || len(regs) != 2 {
			return false, fmt.Sprintf("%d registrations, %v", len(regs), err)
		}
		for _, r := range regs {
			if r.Address != addrs[r.AllocID] || r.Port != 80 {
				return false, fmt.Sprintf("%s registered %s:%d, want %s:80", r.AllocID, r.Address, r.Port, addrs[r.AllocID])
			}
		}
		return true, ""
	})
	// DNS: the client serves both services by name from its catalog watch.
	waitFor(t, 30*time.Second, "bridge-web SRV and bridge-web-alloc A over DNS", func() (bool, string) {
		srv := dnsAsk(dnsAddr, "bridge-web.service.nomad.", dns.TypeSRV)
		a := dnsAsk(dnsAddr, "bridge-web-alloc.service.nomad.", dns.TypeA)
		var got []string
		for _, rr := range srv {
			got = append(got, fmt.Sprint(rr.(*dns.SRV).Port))
		}
		ok := len(srv) == 2
		for _, rr := range a {
			ip := rr.(*dns.A).A.String()
			found := false
			for _, want := range addrs {
				found = found || want == ip
			}
			ok = ok && found
			got = append(got, ip)
		}
		return ok && len(a) == 2, fmt.Sprint(got)
	})
	// A failing check takes an instance out of DNS: only copy 0 serves /health.
	healthyPort := 0
	for _, id := range ids {
		ctx, cancel := ctx10s()
		al, _, err := a.api().Allocation(ctx, id, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(al.Name, "[0]") {
			healthyPort = al.AllocatedResources.Shared.Ports[0].Value
		}
	}
	waitFor(t, 30*time.Second, "bridge-web-checked to answer only its healthy instance", func() (bool, string) {
		srv := dnsAsk(dnsAddr, "bridge-web-checked.service.nomad.", dns.TypeSRV)
		return len(srv) == 1 && int(srv[0].(*dns.SRV).Port) == healthyPort, fmt.Sprintf("%v, want one with port %d", srv, healthyPort)
	})
	// A third job, in bridge mode without a dns block, resolves the service
	// through the DNS server on its gateway.
	lo := runBatchToEnd(t, a, l, dir, "lookup", fmt.Sprintf(lookupJob, image, runToken), "lookup")
	for _, ip := range addrs {
		if !strings.Contains(string(lo), ip) {
			t.Fatalf("the lookup job's nslookup of bridge-web-alloc.service.nomad lacks %s:\n%s", ip, lo)
		}
	}

	// Without a dns block an allocation gets the client's DNS server on
	// its gateway, and nothing else (never the host's resolvers).
	rc, err := os.ReadFile(filepath.Join(a.dataDir, "client", "network", "allocs", ids[0], "resolv.conf"))
	if ns := regexp.MustCompile(`(?m)^nameserver .*$`).FindAllString(string(rc), -1); err != nil || len(ns) != 1 || ns[0] != "nameserver "+l.prefix+"1" {
		t.Fatalf("the web allocation's resolv.conf must name only the gateway %s1: %q %v", l.prefix, rc, err)
	}
	gatewayDNS := func(phase string) {
		t.Helper()
		waitFor(t, 30*time.Second, phase+": the DNS server on the gateway", func() (bool, string) {
			srv := dnsAsk(l.prefix+"1:53", "bridge-web.service.nomad.", dns.TypeSRV)
			return len(srv) == 2, fmt.Sprint(srv)
		})
	}
	gatewayDNS("started")

	// The finished lookup allocation's network goes once its task is dead
	// (the server may hear of the completion first).
	waitFor(t, 30*time.Second, "the lookup allocation's network torn down", func() (bool, string) {
		c := l.count(a.dataDir)
		return c == during, fmt.Sprintf("%+v, want %+v", c, during)
	})

	// 3. SIGKILL the agent and restart it: same networks, still reachable;
	// the warm pool the killed client had filled (bridge_network_pool_size,
	// default 2) is released.
	waitFor(t, 30*time.Second, "the warm pool filled", func() (bool, string) {
		n := l.poolNetNS()
		return n == 2, fmt.Sprintf("%d pooled namespaces", n)
	})
	a.kill()
	a.start()
	waitFor(t, 60*time.Second, "both allocations running after the restart", func() (bool, string) {
		r := runningAllocs(t, a, "e2e-bridge")
		return len(r) == 2, fmt.Sprintf("%d running", len(r))
	})
	check("after SIGKILL and restart")
	gatewayDNS("after SIGKILL and restart") // served again for the re-attached allocations
	waitFor(t, 30*time.Second, "after the restart, the networks there were before it", func() (bool, string) {
		c := l.count(a.dataDir)
		return c == during, fmt.Sprintf("%+v, want %+v", c, during)
	})
	waitFor(t, 30*time.Second, "the killed client's warm pool released", func() (bool, string) {
		n := l.poolNetNS()
		return n == 0, fmt.Sprintf("%d pooled namespaces", n)
	})

	// 4. Stop: nothing left behind.
	if out, code := a.cli(dir, "job", "stop", "e2e-bridge"); code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "the stopped allocations' networks to be torn down", func() (bool, string) {
		c := l.count(a.dataDir)
		return c == before, fmt.Sprintf("%+v, before %+v", c, before)
	})

	// 5. One more bridge allocation fills the pool again; the agent's
	// shutdown releases it: no namespace, veth, lease of the pool left.
	again := strings.Replace(fmt.Sprintf(egressJob, image, runToken), `job "e2e-egress"`, `job "e2e-egress2"`, 1)
	runBatchToEnd(t, a, l, dir, "egress2", again, "probe")
	waitFor(t, 30*time.Second, "the warm pool filled again", func() (bool, string) {
		n := l.poolNetNS()
		return n == 2, fmt.Sprintf("%d pooled namespaces", n)
	})
	a.stop()
	veths, _ := exec.Command("ip", "-o", "link", "show", "master", l.name).CombinedOutput()
	leases, _ := os.ReadDir(filepath.Join(a.dataDir, "client", "network", "ipam", l.name))
	nLeases := 0
	for _, e := range leases {
		if net.ParseIP(e.Name()) != nil {
			nLeases++
		}
	}
	if n := l.poolNetNS(); n != 0 || strings.Contains(string(veths), "veth") || nLeases != 0 {
		t.Fatalf("after the agent's shutdown: %d pooled namespaces, %d leases, veths on the bridge:\n%s", n, nLeases, veths)
	}
	if c := l.count(a.dataDir); c != before {
		t.Fatalf("after the agent's shutdown: %+v, before %+v", c, before)
	}
}

const lookupJob = `
job "e2e-lookup" {
  datacenters = ["*"]
  type        = "batch"
  group "lookup" {
    network {
      mode = "bridge"
    }
    task "lookup" {
      driver = "container"
      config {
        image   = "oci-layout://%s"
        command = "sh"
        args    = ["-c", "busybox nslookup bridge-web-alloc.service.nomad 2>&1"]
      }
      env {
        E2E_RUN = "%s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// dnsAsk queries the client's DNS server.
func dnsAsk(addr, name string, qtype uint16) []dns.RR {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, false)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		return nil
	}
	return r.Answer
}

// runBatchToEnd runs the batch job e2e-<name> (one allocation, whose
// network the lab purges if the test fails) to completion and returns the
// task's stdout.
func runBatchToEnd(t *testing.T, a *agent, l *bridgeLab, dir, name, spec, task string) []byte {
	t.Helper()
	writeFile(t, dir, name+".nomad.hcl", spec)
	if out, code := a.cli(dir, "job", "run", "-detach", name+".nomad.hcl"); code != 0 {
		t.Fatalf("job run %s exited %d:\n%s", name, code, out)
	}
	var id string
	waitFor(t, 90*time.Second, "job e2e-"+name+" to finish", func() (bool, string) {
		allocs := liveOrDone(t, a, "e2e-"+name)
		if len(allocs) != 1 {
			return false, fmt.Sprintf("%d allocations", len(allocs))
		}
		id = allocs[0].ID
		l.owns[id] = true
		return allocs[0].ClientStatus == structs.AllocClientStatusComplete, allocs[0].ClientStatus
	})
	out, err := os.ReadFile(filepath.Join(a.dataDir, "alloc", id, "alloc", "logs", task+".stdout.0"))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// liveOrDone lists the job's allocations.
func liveOrDone(t *testing.T, a *agent, job string) []*structs.AllocListStub {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	allocs, _, err := a.api().JobAllocations(ctx, job, nil)
	if err != nil {
		t.Fatalf("allocations of %s: %v", job, err)
	}
	return allocs
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
