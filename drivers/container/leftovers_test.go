package container

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/drivers"
)

// leftovers lists what a task left on the host: mounts under its state or
// task dir, its cgroups, and processes (its supervisor, found by the state
// dir on its command line, and workload processes, found by the marker
// environment variable NL_TEST_MARK when the task sets it).
func leftovers(t testing.TB, cfg *drivers.TaskConfig) []string {
	t.Helper()
	var out []string
	if b, err := os.ReadFile("/proc/mounts"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && (strings.HasPrefix(f[1], cfg.StateDir) || strings.HasPrefix(f[1], cfg.TaskDir)) {
				out = append(out, "mount "+f[1])
			}
		}
	}
	id := containerID(cfg.ID)
	for _, pattern := range []string{"/sys/fs/cgroup/*/nomadlike/" + id, "/sys/fs/cgroup/nomadlike/" + id} {
		dirs, _ := filepath.Glob(pattern)
		for _, d := range dirs {
			out = append(out, "cgroup "+d)
		}
	}
	mark := []byte("NL_TEST_MARK=" + cfg.Env["NL_TEST_MARK"] + "\x00")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(p))
		if pid == os.Getpid() {
			continue
		}
		if cmd, err := os.ReadFile(p + "/cmdline"); err == nil && bytes.Contains(cmd, []byte(cfg.StateDir)) {
			out = append(out, "process "+p+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
			continue
		}
		if cfg.Env["NL_TEST_MARK"] == "" {
			continue
		}
		if env, err := os.ReadFile(p + "/environ"); err == nil && bytes.Contains(env, mark) {
			out = append(out, "process "+p+" (task environment)")
		}
	}
	return out
}

// markTask sets the task's NL_TEST_MARK, so leftovers finds its processes.
func markTask(cfg *drivers.TaskConfig) {
	if cfg.Env == nil {
		cfg.Env = map[string]string{}
	}
	cfg.Env["NL_TEST_MARK"] = strings.ReplaceAll(cfg.ID, "/", "-") + "-" + strconv.Itoa(os.Getpid())
}
