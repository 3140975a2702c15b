package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/internal/freeport"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// binPath is the nomadlike binary built once for the whole package.
var binPath string

// imagesDir holds the tests' local container images; the agents the
// harness starts allow it as the container plugin's image_paths.
var imagesDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nomadlike-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "nomadlike")
	imagesDir = filepath.Join(dir, "images")
	if err := os.Mkdir(imagesDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	_, thisFile, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(thisFile))
	// make passes the build tags it uses (seccomp when libseccomp is
	// present), so the agents under test are the binary users get.
	build := exec.Command("go", "build", "-tags", os.Getenv("NOMADLIKE_BUILD_TAGS"), "-o", binPath, ".")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building nomadlike:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor polls cond every interval until it returns true or the deadline
// passes; on timeout it fails with the last reason cond gave.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond) // polling interval of a condition wait, not a synchronisation
	}
}

// agent is a nomadlike agent process started by a test.
type agent struct {
	t       *testing.T
	cmd     *exec.Cmd
	addr    string // http://127.0.0.1:port
	dataDir string
	cfgPath string
	logPath string
	args    []string
	exited  chan struct{}
	// tls, when set, is how api() and cli() reach an https agent.
	tls *api.TLSConfig
	// noWait makes start return once the process runs (a server that
	// waits for others, a client of a cluster): the test waits itself.
	noWait bool
}

// agentOpts configure startAgent.
type agentOpts struct {
	dev     bool
	dataDir string // for non-dev agents; "" = a fresh temp dir
	extra   string // extra HCL appended to the config file
	// noRawExec leaves raw_exec disabled (the default of a real agent) on
	// a non-dev agent.
	noRawExec bool
	// clientExtra is HCL added inside the client block of a non-dev agent.
	clientExtra string
	// serverExtra is HCL added inside the server block of a non-dev agent.
	serverExtra string
	// noWait returns once the process runs (see agent.noWait).
	noWait bool
}

// startAgent writes a config with free ports and starts `nomadlike agent`.
func startAgent(t *testing.T, o agentOpts) *agent {
	t.Helper()
	dir := t.TempDir()
	if o.dataDir == "" {
		o.dataDir = filepath.Join(dir, "data")
	}
	httpPort, rpcPort, serfPort := freeport.TCP(t), freeport.TCP(t), freeport.TCP(t)
	cfg := fmt.Sprintf(`
name      = "e2e-%d"
data_dir  = %q
bind_addr = "127.0.0.1"
log_level = "DEBUG"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
%s
`, httpPort, o.dataDir, httpPort, rpcPort, serfPort, o.extra)
	if !strings.Contains(o.extra, `plugin "container"`) {
		cfg += containerPluginHCL("")
	}
	if !o.dev {
		cfg += `
server {
  enabled          = true
  bootstrap_expect = 1
` + o.serverExtra + `
}
client {
  enabled = true
` + o.clientExtra + `
}
`
		if !o.noRawExec {
			cfg += `
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`
		}
	}
	a := &agent{
		t:       t,
		addr:    fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		dataDir: o.dataDir,
		cfgPath: filepath.Join(dir, "agent.hcl"),
		logPath: filepath.Join(dir, "agent.log"),
		noWait:  o.noWait,
	}
	args := []string{"agent", "-config", a.cfgPath}
	if o.dev {
		args = []string{"agent", "-dev", "-config", a.cfgPath}
	}
	a.launch(cfg, args...)
	return a
}

// containerPluginHCL is a plugin "container" block allowing the tests'
// local images (imagesDir), with extra settings in its config body.
func containerPluginHCL(extra string) string {
	return fmt.Sprintf(`
plugin "container" {
  config {
    image_paths = [%q]
%s
  }
}
`, imagesDir, extra)
}

// launch writes cfg to a.cfgPath, starts `nomadlike args...` and, at the
// end of the test, stops the agent and the tasks it left running (dumping
// its log if the test failed).
func (a *agent) launch(cfg string, args ...string) {
	t := a.t
	t.Helper()
	if err := os.WriteFile(a.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	a.args = args
	a.start()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			a.dumpLog(80)
		}
		stopSupervisorsUnder(t, a.dataDir)
		unmountUnder(t, a.dataDir)
	})
}

// unmountUnder unmounts what the agent left mounted below dir (its tasks'
// secrets tmpfs), so the test's temporary dir can be removed.
func unmountUnder(t *testing.T, dir string) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(mi), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			if err := syscall.Unmount(f[4], syscall.MNT_DETACH); err != nil {
				t.Logf("unmount %s: %v", f[4], err)
			}
		}
	}
}

func (a *agent) start() {
	t := a.t
	t.Helper()
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	a.cmd = exec.Command(binPath, a.args...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent: %v", err)
	}
	a.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}, f *os.File) {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}(a.cmd, a.exited, logf)
	if a.noWait {
		return
	}
	waitFor(t, 60*time.Second, "agent to elect a leader and register its node", func() (bool, string) {
		select {
		case <-a.exited:
			a.dumpLog(60)
			t.Fatalf("agent exited during startup")
		default:
		}
		c := a.api()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		leader, err := c.Leader(ctx)
		if err != nil || leader == "" {
			return false, fmt.Sprintf("leader %q: %v", leader, err)
		}
		nodes, _, err := c.ListNodes(ctx, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, n := range nodes {
			if n.Status == "ready" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d nodes, none ready", len(nodes))
	})
}

// stop ends the agent with SIGINT (graceful) and waits for it.
func (a *agent) stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	select {
	case <-a.exited:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.t.Logf("agent did not exit 30s after SIGINT; killing it")
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
}

// kill ends the agent with SIGKILL, as a crash would.
func (a *agent) kill() {
	_ = a.cmd.Process.Kill()
	<-a.exited
}

func (a *agent) dumpLog(lines int) {
	b, err := os.ReadFile(a.logPath)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	a.t.Logf("last %d lines of the agent log:\n%s", len(all), strings.Join(all, "\n"))
}

func (a *agent) api() *api.Client {
	c, err := api.NewClient(api.Config{Address: a.addr, TLS: a.tls})
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// cli runs the nomadlike CLI against the agent in dir and returns its
// combined output and exit code.
func (a *agent) cli(dir string, args ...string) (string, int) {
	a.t.Helper()
	env := []string{"NOMAD_ADDR=" + a.addr}
	if a.tls != nil {
		env = append(env, "NOMAD_CACERT="+a.tls.CACert, "NOMAD_CLIENT_CERT="+a.tls.ClientCert, "NOMAD_CLIENT_KEY="+a.tls.ClientKey)
	}
	return runIn(a.t, dir, env, args...)
}

// runIn runs the nomadlike CLI in dir with extra environment variables and
// returns its combined output and exit code.
func runIn(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	t.Logf("$ nomadlike %s  (exit %d)\n%s", strings.Join(args, " "), code, out.String())
	return out.String(), code
}

// nodesReady is a waitFor condition: want nodes are ready.
func nodesReady(cl *api.Client, want int) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nodes, _, err := cl.ListNodes(ctx, nil)
	if err != nil {
		return false, err.Error()
	}
	ready := 0
	for _, n := range nodes {
		if n.Status == structs.NodeStatusReady {
			ready++
		}
	}
	return ready == want, fmt.Sprintf("%d of %d nodes ready", ready, len(nodes))
}

// procsWithEnv returns the PIDs of processes whose environment holds key=value.
func procsWithEnv(key, value string) []int {
	want := []byte(key + "=" + value)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				if !isZombie(pid) {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

// supervisorsUnder returns the task supervisors (`nomadlike __supervise
// <spec>`) whose spec file lies under dir.
func supervisorsUnder(dir string) []int {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) >= 3 && args[1] == "__supervise" && strings.HasPrefix(args[2], prefix) && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stopSupervisorsUnder ends the tasks an agent of this test left running
// under dir (tasks outlive their agent by design, so a test that stops an
// agent without stopping its jobs leaves them): each supervisor gets
// SIGTERM, which stops its workload with the task's kill signal and
// timeout, and once the workload is gone ends the supervisor too.
func stopSupervisorsUnder(t *testing.T, dir string) {
	if dir == "" || len(supervisorsUnder(dir)) == 0 {
		return
	}
	deadline := time.Now().Add(45 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		left := supervisorsUnder(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("task supervisors %v under %s survive 45s of SIGTERM; killing them", left, dir)
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
		<-tick.C
	}
}

func isZombie(pid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if st, ok := strings.CutPrefix(s.Text(), "State:"); ok {
			return strings.Contains(st, "Z")
		}
	}
	return false
}

func ctx10s() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
