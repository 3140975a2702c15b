package container

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/seccomp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// limitsScript prints the container's process limit, effective
// capabilities and seccomp mode, then tries to start 40 processes and
// counts how many it has (with shell builtins only, which need no fork).
const limitsScript = `read m < /sys/fs/cgroup/pids/pids.max 2>/dev/null || read m < /sys/fs/cgroup/pids.max
echo pidsmax=$m
while read k v; do case $k in CapEff:|Seccomp:) echo "$k$v";; esac; done < /proc/self/status
( i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done ) 2>/dev/null
set -- /proc/[0-9]*; echo procs=$#`

// TestContainerLimits: a task's pids_limit caps its processes (a fork
// bomb stops there), containers lack CAP_NET_RAW by default, and seccomp
// is either on (Seccomp: 2) or, in a build without libseccomp, the task's
// stderr and handle carry the warning.
func TestContainerLimits(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, limitsScript, map[string]any{"pids_limit": 16})
	h := start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("exit %+v; stderr %q", res, readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")))
	}
	out := readFile(t, stdout(cfg))
	t.Logf("stdout:\n%s", out)
	if !strings.Contains(out, "pidsmax=16\n") {
		t.Errorf("stdout lacks pidsmax=16")
	}
	if m := regexp.MustCompile(`procs=(\d+)`).FindStringSubmatch(out); m == nil {
		t.Errorf("stdout lacks procs=")
	} else if n, _ := strconv.Atoi(m[1]); n > 16 || n < 5 {
		t.Errorf("the container ran %d processes at once, want at most its pids_limit of 16 (and the few it started)", n)
	}
	m := regexp.MustCompile(`CapEff:([0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout lacks CapEff")
	}
	capEff, _ := strconv.ParseUint(m[1], 16, 64)
	if capEff&(1<<13) != 0 {
		t.Errorf("CapEff %s includes CAP_NET_RAW (bit 13); containers must not have it by default", m[1])
	}
	stderr := readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0"))
	if seccomp.Enabled {
		if !strings.Contains(out, "Seccomp:2") {
			t.Errorf("built with libseccomp but the container runs without a filter (want Seccomp:2)")
		}
		if len(h.Warnings) != 0 || strings.Contains(stderr, "seccomp") {
			t.Errorf("warnings %q, stderr %q: want no seccomp warning in a seccomp build", h.Warnings, stderr)
		}
		return
	}
	const want = "running without a seccomp profile: built without libseccomp"
	if len(h.Warnings) != 1 || !strings.HasPrefix(h.Warnings[0], want) {
		t.Errorf("handle warnings %q, want one starting %q", h.Warnings, want)
	}
	if !strings.Contains(stderr, "nomadlike: warning: "+want) {
		t.Errorf("stderr %q lacks the warning %q", stderr, want)
	}
}

// TestContainerMemoryNoLimit: memory_max = -1 (Nomad's "no hard limit")
// leaves the container's memory cgroup without a limit, with memory as its
// reservation.
func TestContainerMemoryNoLimit(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := withMemory(shTask(t, `read m < /sys/fs/cgroup/memory.max 2>/dev/null || read m < /sys/fs/cgroup/memory/memory.limit_in_bytes
read l < /sys/fs/cgroup/memory.low 2>/dev/null || read l < /sys/fs/cgroup/memory/memory.soft_limit_in_bytes
echo "max=$m low=$l"`, nil), 32)
	cfg.Resources.Memory.MemoryMaxMB = structs.MemoryNoLimit
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("exit %+v; stderr %q", res, readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")))
	}
	out := readFile(t, stdout(cfg))
	m := regexp.MustCompile(`max=(\S+) low=(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout %q lacks max= low=", out)
	}
	// cgroup v2 says "max"; v1 a page-rounded huge number.
	if n, err := strconv.ParseInt(m[1], 10, 64); m[1] != "max" && (err != nil || n < 1<<40) {
		t.Errorf("memory limit %s, want none (max)", m[1])
	}
	if m[2] != strconv.Itoa(32<<20) {
		t.Errorf("memory reservation %s, want %d (memory = 32)", m[2], 32<<20)
	}
}
