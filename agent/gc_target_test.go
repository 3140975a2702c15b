package agent

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name                   string
		live, headroom, target uint64
		want                   int64
	}{
		{"no live heap yet", 0, 128 * mib, 0, maxGCPercent},
		{"headroom over a small heap", 64 * mib, 128 * mib, 0, 200},
		{"headroom capped", 1 * mib, 128 * mib, 0, maxGCPercent},
		{"large heap: GOGC=100", 1024 * mib, 128 * mib, 0, 100},
		{"target leaves three times the live heap", 1024 * mib, 128 * mib, 4096 * mib, 300},
		{"target capped", 1024 * mib, 128 * mib, 64 * 1024 * mib, maxTargetGCPercent},
		{"target below twice the live heap: GOGC=100", 3072 * mib, 128 * mib, 4096 * mib, 100},
		{"target below the live heap: GOGC=100", 8192 * mib, 128 * mib, 4096 * mib, 100},
		{"headroom above the target's cap", 16 * mib, 128 * mib, 64 * 1024 * mib, 800},
	}
	for _, tc := range tests {
		if got := gcPercentFor(tc.live, tc.headroom, tc.target); got != tc.want {
			t.Errorf("%s: gcPercentFor(%d MiB, %d MiB, %d MiB) = %d, want %d", tc.name, tc.live/mib, tc.headroom/mib, tc.target/mib, got, tc.want)
		}
	}
}

func TestParseGCHeapTarget(t *testing.T) {
	good := map[string]GCHeapTarget{
		"25%":    {Percent: 25},
		"12.5 %": {Percent: 12.5},
		"100%":   {Percent: 100},
		"0":      {},
		"0GiB":   {},
		"8GiB":   {Bytes: 8 << 30},
		"512MB":  {Bytes: 512e6},
		"1.5GiB": {Bytes: 3 << 29},
		"4096 B": {Bytes: 4096},
	}
	for in, want := range good {
		got, err := parseGCHeapTarget(in)
		if err != nil || got != want {
			t.Errorf("parseGCHeapTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		// What the agent logs reads back as the same setting.
		if back, err := parseGCHeapTarget(want.String()); err != nil || back != want {
			t.Errorf("parseGCHeapTarget(%q) (the String of %+v) = %+v, %v", want.String(), want, back, err)
		}
	}
	for _, in := range []string{"", "0%", "101%", "-5%", "x%", "8", "8XB", "-1GiB", "GiB", "1e30TiB", "NaN%", "0.5B", "-0GiB", "1e-12GiB"} {
		if got, err := parseGCHeapTarget(in); err == nil {
			t.Errorf("parseGCHeapTarget(%q) = %+v, want an error", in, got)
		}
	}
	if got := (GCHeapTarget{Percent: 25}).bytesOf(8 << 30); got != 2<<30 {
		t.Errorf("25%% of 8 GiB = %d, want %d", got, 2<<30)
	}
	if got := (GCHeapTarget{Percent: 25}).bytesOf(0); got != 0 {
		t.Errorf("25%% of an unknown memory size = %d, want 0 (off)", got)
	}
	if got := (GCHeapTarget{Bytes: 1 << 30}).bytesOf(0); got != 1<<30 {
		t.Errorf("1 GiB target = %d bytes", got)
	}
}

// fakeRoot writes files (path: content) under a temporary root.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestMachineMemory(t *testing.T) {
	const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\n"
	const total = 16000 << 20 // whole MiB
	tests := []struct {
		name  string
		files map[string]string
		want  uint64
	}{
		{"physical memory only", map[string]string{"proc/meminfo": meminfo}, total},
		{"nothing readable", map[string]string{}, 0},
		{"cgroup v2 limit on an ancestor", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "0::/system.slice/nomad.service\n",
			"sys/fs/cgroup/system.slice/nomad.service/memory.max": "max\n",
			"sys/fs/cgroup/system.slice/memory.max":               "4294967296\n",
		}, 4 << 30},
		{"cgroup v2 limit above physical memory", map[string]string{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             "0::/big\n",
			"sys/fs/cgroup/big/memory.max": "1099511627776\n",
		}, total},
		{"cgroup v1, unlimited at the path, limited at the mount's root", map[string]string{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n",
			"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":            "2147483648\n",
		}, 2 << 30},
		{"cgroup limit without meminfo", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "1073741824\n",
		}, 1 << 30},
	}
	for _, tc := range tests {
		if got := machineMemory(fakeRoot(t, tc.files)); got != tc.want {
			t.Errorf("%s: machineMemory = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestParseGCHeapTargetConfig(t *testing.T) {
	c := DefaultConfig()
	if c.Server.GCHeapTarget != DefaultGCHeapTarget {
		t.Fatalf("default gc_heap_target = %v, want %v", c.Server.GCHeapTarget, DefaultGCHeapTarget)
	}
	if err := ParseConfig(c, "agent.hcl", []byte("server {\n  gc_heap_target = \"6GiB\"\n}\n")); err != nil {
		t.Fatal(err)
	}
	if c.Server.GCHeapTarget != (GCHeapTarget{Bytes: 6 << 30}) {
		t.Errorf("gc_heap_target = %+v after \"6GiB\"", c.Server.GCHeapTarget)
	}
	if err := ParseConfig(c, "agent.hcl", []byte("server {\n  gc_heap_target = 0\n}\n")); err != nil {
		t.Fatal(err)
	}
	if c.Server.GCHeapTarget != (GCHeapTarget{}) {
		t.Errorf("gc_heap_target = %+v after 0, want off", c.Server.GCHeapTarget)
	}
	// An agent that is also a client uses the target only when set.
	both := DefaultConfig()
	both.Server.Enabled, both.Client.Enabled = true, true
	if got := both.serverGCHeapTarget(); got != (GCHeapTarget{}) {
		t.Errorf("server and client agent, gc_heap_target unset: target %v, want off", got)
	}
	if err := ParseConfig(both, "agent.hcl", []byte("server {\n  gc_heap_target = \"10%\"\n}\n")); err != nil {
		t.Fatal(err)
	}
	if got := both.serverGCHeapTarget(); got != (GCHeapTarget{Percent: 10}) {
		t.Errorf("server and client agent, gc_heap_target = \"10%%\": target %v", got)
	}
	server := DefaultConfig()
	server.Server.Enabled = true
	if got := server.serverGCHeapTarget(); got != DefaultGCHeapTarget {
		t.Errorf("server agent, gc_heap_target unset: target %v, want the default %v", got, DefaultGCHeapTarget)
	}
	err := ParseConfig(c, "agent.hcl", []byte("server {\n  gc_heap_target = \"lots\"\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "server.gc_heap_target") {
		t.Errorf("gc_heap_target = \"lots\": error %v, want one naming server.gc_heap_target", err)
	}
}

// TestStartServerGCLogsGOGC: with GOGC set the start log says the tuning
// is off, not a heap target that is not used.
func TestStartServerGCLogsGOGC(t *testing.T) {
	t.Setenv("GOGC", "50")
	var buf bytes.Buffer
	cfg := DefaultConfig()
	cfg.Server.Enabled = true
	if g := startServerGC(cfg, slog.New(slog.NewTextHandler(&buf, nil))); g != nil {
		g.stop()
		t.Fatal("startServerGC tuned GOGC although GOGC is set")
	}
	if out := buf.String(); !strings.Contains(out, "GOGC is set") || strings.Contains(out, "heap target") {
		t.Errorf("log %q: want that GOGC turned the tuning off, and no heap target", out)
	}
}
