package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// distDir is the repository's dist/ directory.
func distDir(t *testing.T) string {
	_, thisFile, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(thisFile)), "dist")
}

// readDist returns dist/name with each of the replacements (old, new pairs)
// applied; each old text must occur, so the sample cannot drift from what
// the test checks.
func readDist(t *testing.T, name string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(distDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("dist/%s no longer contains %q", name, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return s
}

// unitExecStart returns the arguments of the unit's ExecStart line after
// the binary, with the config directory replaced by confDir.
func unitExecStart(t *testing.T, unit, confDir string) []string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "ExecStart=")
		if !ok {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "/usr/local/bin/nomadlike" {
			t.Fatalf("ExecStart %q does not run /usr/local/bin/nomadlike (where make install puts it)", line)
		}
		args := f[1:]
		for i, a := range args {
			if a == "/etc/nomadlike.d" {
				args[i] = confDir
			}
		}
		return args
	}
	t.Fatal("the unit has no ExecStart")
	return nil
}

// TestDistServiceAndSampleConfigs checks the packaging in dist/: the systemd
// unit passes `systemd-analyze verify` (with its binary path pointed at the
// test's build), and its ExecStart command line, given a config directory
// holding dist/server.hcl (then one holding dist/client.hcl), starts a
// server and a client that registers with it — the sample configs only
// changed to loopback addresses, a temporary data_dir and free ports. This
// machine's PID 1 is not systemd, so starting the unit itself is the manual
// check README.md "Installing as a service" describes.
func TestDistServiceAndSampleConfigs(t *testing.T) {
	killLeftovers(t)
	unit := readDist(t, "nomadlike.service")

	t.Run("systemd-analyze verify", func(t *testing.T) {
		if _, err := exec.LookPath("systemd-analyze"); err != nil {
			if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
				t.Fatalf("systemd-analyze not found (Debian: systemd); required with NOMADLIKE_REQUIRE_ALL=1")
			}
			t.Skip("systemd-analyze not found (Debian: systemd)")
		}
		dir := t.TempDir()
		p := writeFile(t, dir, "nomadlike.service", strings.ReplaceAll(unit, "/usr/local/bin/nomadlike", binPath))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "systemd-analyze", "verify", p).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})

	// The server, from dist/server.hcl through the unit's command line.
	srvDir := t.TempDir()
	httpPort, serfPort := freeport.TCP(t), freeport.TCP(t)
	srv := startFromUnit(t, unit, srvDir, "server.hcl", httpPort, serfPort, readDist(t, "server.hcl",
		`data_dir  = "/opt/nomadlike/data"`, fmt.Sprintf("data_dir = %q", filepath.Join(srvDir, "data")),
		`bind_addr = "0.0.0.0"`, `bind_addr = "127.0.0.1"`,
		"bootstrap_expect = 3", "bootstrap_expect = 1",
		`["10.0.0.1", "10.0.0.2", "10.0.0.3"]`, fmt.Sprintf(`["127.0.0.1:%d"]`, serfPort)))
	waitFor(t, time.Minute, "the server from dist/server.hcl to elect itself", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		leader, err := srv.api().Leader(ctx)
		return err == nil && leader != "", fmt.Sprintf("leader %q: %v", leader, err)
	})

	// The client, from dist/client.hcl, pointed at that server.
	cliDir := t.TempDir()
	cl := startFromUnit(t, unit, cliDir, "client.hcl", freeport.TCP(t), freeport.TCP(t), readDist(t, "client.hcl",
		`data_dir  = "/opt/nomadlike/data"`, fmt.Sprintf("data_dir = %q", filepath.Join(cliDir, "data")),
		`bind_addr = "0.0.0.0"`, `bind_addr = "127.0.0.1"`,
		`["10.0.0.1:4646", "10.0.0.2:4646", "10.0.0.3:4646"]`, fmt.Sprintf(`["127.0.0.1:%d"]`, httpPort)))
	waitFor(t, time.Minute, "the client from dist/client.hcl to register a ready node", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		nodes, _, err := srv.api().ListNodes(ctx, nil)
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
	// KillSignal=SIGINT: both stop gracefully.
	for _, a := range []*agent{cl, srv} {
		a.stop()
		if code := a.cmd.ProcessState.ExitCode(); code != 0 {
			a.dumpLog(30)
			t.Errorf("agent exited %d after SIGINT, want 0", code)
		}
	}
}

// startFromUnit starts an agent as the unit's ExecStart does, with a config
// directory in dir holding hcl as name and a ports file (httpPort, serfPort
// and a free RPC port); the caller waits for it.
func startFromUnit(t *testing.T, unit, dir, name string, httpPort, serfPort int, hcl string) *agent {
	t.Helper()
	confDir := filepath.Join(dir, "nomadlike.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, confDir, name, hcl)
	a := &agent{t: t, addr: fmt.Sprintf("http://127.0.0.1:%d", httpPort), dataDir: filepath.Join(dir, "data"),
		cfgPath: filepath.Join(confDir, "ports.hcl"), logPath: filepath.Join(dir, "agent.log"), noWait: true}
	a.launch(fmt.Sprintf("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n", httpPort, freeport.TCP(t), serfPort), unitExecStart(t, unit, confDir)...)
	return a
}
