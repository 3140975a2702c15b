package drivertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// DefaultWait is how long the wait helpers wait before failing the test.
const DefaultWait = 20 * time.Second

// RunMain is the body of TestMain for packages whose tests start tasks: the
// test binary is re-executed as the task supervisor, so it must become one
// when asked to before running tests.
//
//	func TestMain(m *testing.M) { drivertest.RunMain(m) }
func RunMain(m *testing.M) {
	if supervisor.IsInvocation(os.Args) {
		os.Exit(supervisor.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// TaskConfig returns a config for task name in a fresh allocation directory
// laid out as the client does: AllocDir/alloc/logs, AllocDir/<name>/local,
// AllocDir/<name>/secrets, and a private state dir. Logs keep 2 files of 1 MB.
func TaskConfig(t testing.TB, name string, config map[string]any) *drivers.TaskConfig {
	t.Helper()
	root := t.TempDir()
	allocID := fmt.Sprintf("alloc-%d", time.Now().UnixNano())
	allocDir := filepath.Join(root, "alloc")
	taskDir := filepath.Join(allocDir, name)
	logDir := filepath.Join(allocDir, "alloc", "logs")
	stateDir := filepath.Join(root, "state", name)
	for _, d := range []string{logDir, filepath.Join(taskDir, "local"), filepath.Join(taskDir, "secrets"), stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create %s: %v", d, err)
		}
	}
	return &drivers.TaskConfig{
		ID:            allocID + "/" + name,
		Name:          name,
		AllocID:       allocID,
		JobName:       "test-job",
		TaskGroupName: "group",
		Config:        config,
		Env: map[string]string{
			"PATH":           os.Getenv("PATH"),
			"NOMAD_TASK_DIR": filepath.Join(taskDir, "local"),
			"NOMAD_ALLOC_ID": allocID,
		},
		AllocDir:     allocDir,
		TaskDir:      taskDir,
		LogDir:       logDir,
		StdoutBase:   name + ".stdout",
		StderrBase:   name + ".stderr",
		LogMaxFiles:  2,
		LogMaxFileMB: 1,
		StateDir:     stateDir,
		KillTimeout:  5 * time.Second,
		KillSignal:   "SIGTERM",
	}
}

// WaitFor polls cond until it returns true or timeout passes, then fails the
// test with cond's last description of what it saw.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, saw)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitForFileContains waits until the file at path contains want and
// returns its content.
func WaitForFileContains(t testing.TB, path, want string) string {
	t.Helper()
	var content string
	WaitFor(t, DefaultWait, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		content = string(b)
		return strings.Contains(content, want), fmt.Sprintf("%s has %q, want it to contain %q", path, content, want)
	})
	return content
}

// ReadPID waits until path holds a process id (as written by `echo $$ > path`)
// and returns it.
func ReadPID(t testing.TB, path string) int {
	t.Helper()
	var pid int
	WaitFor(t, DefaultWait, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		_, err = fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &pid)
		return err == nil && pid > 0, fmt.Sprintf("%s holds %q, want a pid", path, b)
	})
	return pid
}

// ProcessGone reports whether pid no longer exists (a zombie counts as gone).
func ProcessGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// RequireRoot skips the test when not running as root, unless
// NOMADLIKE_REQUIRE_ALL=1 makes the missing privilege a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	if syscall.Geteuid() == 0 {
		return
	}
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal("test needs root and NOMADLIKE_REQUIRE_ALL=1 is set")
	}
	t.Skip("test needs root")
}
