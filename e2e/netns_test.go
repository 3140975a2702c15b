package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// A network lab for multi-host tests: every host is a network namespace
// with one veth on a bridge in the root namespace, on a private /24 of
// 10.213.0.0/16 that has no route anywhere else (no default route in the
// namespaces, no address on the bridge: the root namespace never sends a
// packet to the subnet). The test process reaches a host's agent by
// dialing from inside that host's namespace. Cutting a host's link sets
// its bridge-side veth down.

// needNetns skips the test (fails it under NOMADLIKE_REQUIRE_ALL=1) when
// network namespaces cannot be created here.
func needNetns(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "network namespaces need root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "iproute2 (the ip command) is not installed"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatalf("%s, and NOMADLIKE_REQUIRE_ALL=1 is set", why)
	}
	t.Skipf("skipping the multi-host test: %s", why)
}

// lab is a bridge and its hosts.
type lab struct {
	t      *testing.T
	id     string // unique per run, in every name
	subnet string // "10.213.N"
	bridge string
	hosts  []*host
}

// host is one network namespace on the lab's bridge.
type host struct {
	lab    *lab
	idx    int
	ns     string
	vethBr string // bridge side, cut to partition the host
	ip     string
	client *http.Client
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newLab creates a bridge and n hosts; everything is removed at cleanup.
func newLab(t *testing.T, n int) *lab {
	t.Helper()
	needNetns(t)
	id := fmt.Sprintf("%04x", rand.IntN(0x10000))
	l := &lab{t: t, id: id, subnet: fmt.Sprintf("10.213.%d", 1+rand.IntN(250)), bridge: "nlbr" + id}
	t.Cleanup(l.destroy)
	ipCmd(t, "link", "add", l.bridge, "type", "bridge")
	ipCmd(t, "link", "set", l.bridge, "up")
	for i := 1; i <= n; i++ {
		h := &host{lab: l, idx: i, ns: fmt.Sprintf("nl%s-%d", id, i), vethBr: fmt.Sprintf("nlv%s%db", id, i), ip: fmt.Sprintf("%s.%d", l.subnet, i)}
		vethNs := fmt.Sprintf("nlv%s%dn", id, i)
		l.hosts = append(l.hosts, h)
		ipCmd(t, "netns", "add", h.ns)
		ipCmd(t, "link", "add", h.vethBr, "type", "veth", "peer", "name", vethNs)
		ipCmd(t, "link", "set", vethNs, "netns", h.ns)
		ipCmd(t, "link", "set", h.vethBr, "master", l.bridge)
		ipCmd(t, "link", "set", h.vethBr, "up")
		ipCmd(t, "-n", h.ns, "addr", "add", h.ip+"/24", "dev", vethNs)
		ipCmd(t, "-n", h.ns, "link", "set", vethNs, "up")
		ipCmd(t, "-n", h.ns, "link", "set", "lo", "up")
		h.client = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: h.dial, DisableKeepAlives: true}}
	}
	return l
}

// destroy removes the namespaces (and with them their veths) and the bridge.
func (l *lab) destroy() {
	for _, h := range l.hosts {
		if out, err := exec.Command("ip", "netns", "del", h.ns).CombinedOutput(); err != nil {
			l.t.Errorf("clean up: ip netns del %s: %v: %s", h.ns, err, out)
		}
		// The bridge-side veth goes with its peer; make sure.
		_ = exec.Command("ip", "link", "del", h.vethBr).Run()
	}
	if out, err := exec.Command("ip", "link", "del", l.bridge).CombinedOutput(); err != nil {
		l.t.Errorf("clean up: ip link del %s: %v: %s", l.bridge, err, out)
	}
}

// dial connects from inside the host's namespace.
func (h *host) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("get current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(h.ns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("open netns %s: %w", h.ns, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter netns %s: %w", h.ns, err)
	}
	// The socket is created in the namespace; connecting continues from
	// there whatever thread polls it.
	var d net.Dialer
	conn, derr := d.DialContext(ctx, network, addr)
	if err := netns.Set(orig); err != nil {
		// Leave the thread locked: it dies with this goroutine rather
		// than serve others from the wrong namespace.
		return nil, fmt.Errorf("return from netns %s: %w", h.ns, err)
	}
	runtime.UnlockOSThread()
	return conn, derr
}

// cut takes the host off the bridge; heal puts it back.
func (h *host) cut()  { ipCmd(h.lab.t, "link", "set", h.vethBr, "down") }
func (h *host) heal() { ipCmd(h.lab.t, "link", "set", h.vethBr, "up") }

// nsAgent is a `nomadlike agent` running in a host's namespace.
type nsAgent struct {
	t       *testing.T
	host    *host
	name    string
	cfgPath string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// dataDirRE finds an agent config's data_dir.
var dataDirRE = regexp.MustCompile(`(?m)^\s*data_dir\s*=\s*"([^"]+)"`)

// startNsAgent writes cfg and starts the agent inside h's namespace.
func startNsAgent(t *testing.T, h *host, name, cfg string) *nsAgent {
	t.Helper()
	dir := t.TempDir()
	a := &nsAgent{t: t, host: h, name: name, cfgPath: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "agent.log")}
	if err := os.WriteFile(a.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.start()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			a.dumpLog(60)
		}
		if m := dataDirRE.FindStringSubmatch(cfg); m != nil {
			stopSupervisorsUnder(t, m[1])
		}
	})
	return a
}

func (a *nsAgent) start() {
	t := a.t
	t.Helper()
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command("ip", "netns", "exec", a.host.ns, binPath, "agent", "-config", a.cfgPath)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", a.name, err)
	}
	a.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}, f *os.File) {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}(a.cmd, a.exited, logf)
}

// running reports whether the agent process is still up.
func (a *nsAgent) running() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// stop ends the agent with SIGINT and waits; kill is SIGKILL, a crash.
func (a *nsAgent) stop() {
	if !a.running() {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.t.Logf("agent %s did not exit 30s after SIGINT; killing it", a.name)
		a.kill()
	}
}

func (a *nsAgent) kill() {
	_ = a.cmd.Process.Kill()
	<-a.exited
}

func (a *nsAgent) dumpLog(lines int) {
	b, err := os.ReadFile(a.logPath)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	a.t.Logf("last %d lines of agent %s's log:\n%s", len(all), a.name, strings.Join(all, "\n"))
}

// addr is the agent's HTTP URL inside the lab.
func (a *nsAgent) addr() string { return "http://" + a.host.ip + ":4646" }

// api returns a client that reaches the agent from inside its namespace.
func (a *nsAgent) api() *api.Client {
	c, err := api.NewClient(api.Config{Address: a.addr(), HTTPClient: a.host.client})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// cli runs the nomadlike CLI inside the agent's namespace against it.
func (a *nsAgent) cli(args ...string) (string, int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	full := append([]string{"netns", "exec", a.host.ns, binPath}, args...)
	cmd := exec.CommandContext(ctx, "ip", full...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr())
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			a.t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	a.t.Logf("[%s] $ nomadlike %s  (exit %d)\n%s", a.name, strings.Join(args, " "), code, out)
	return string(out), code
}
