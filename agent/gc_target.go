package agent

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
)

// GCHeapTarget is server.gc_heap_target: how large a server's heap may grow
// between two garbage collections when the machine has memory to spare,
// as a share of the machine's memory (Percent, of the smaller of physical
// memory and the process's cgroup limit) or a size (Bytes). The zero
// value is off. An agent that is also a client uses it only when the
// config sets it (serverGCHeapTarget). The heap still grows to twice the live heap (GOGC=100)
// when that is more, and GOGC in the environment turns the tuning off.
type GCHeapTarget struct {
	Percent float64
	Bytes   uint64
}

// DefaultGCHeapTarget is gc_heap_target's default: a quarter of the
// machine's memory.
var DefaultGCHeapTarget = GCHeapTarget{Percent: 25}

// serverGCHeapTarget is the heap target of the agent's server: the
// configured one, except that an agent that is also a client leaves its
// machine's memory to its tasks unless gc_heap_target is set.
func (c *Config) serverGCHeapTarget() GCHeapTarget {
	if c.Client.Enabled && !c.Server.gcHeapTargetSet {
		return GCHeapTarget{}
	}
	return c.Server.GCHeapTarget
}

// String is the setting in a form parseGCHeapTarget reads back.
func (t GCHeapTarget) String() string {
	switch {
	case t.Percent > 0:
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	case t.Bytes > 0:
		return strconv.FormatUint(t.Bytes, 10) + "B"
	}
	return "0"
}

// bytesOf is the target in bytes on a machine with mem bytes of memory
// (0: unknown, and a percentage is then off).
func (t GCHeapTarget) bytesOf(mem uint64) uint64 {
	if t.Percent > 0 {
		return uint64(float64(mem) * t.Percent / 100)
	}
	return t.Bytes
}

// sizeUnits are the suffixes parseGCHeapTarget accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// parseGCHeapTarget reads gc_heap_target: a percentage of the machine's
// memory ("25%", above 0 and at most 100), a size with a unit ("8GiB",
// "512MB"), or "0" (off).
func parseGCHeapTarget(s string) (GCHeapTarget, error) {
	v := strings.TrimSpace(s)
	if v == "0" {
		return GCHeapTarget{}, nil
	}
	if num, ok := strings.CutSuffix(v, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || !(p > 0 && p <= 100) {
			return GCHeapTarget{}, fmt.Errorf("gc_heap_target = %q: a percentage must be above 0 and at most 100", s)
		}
		return GCHeapTarget{Percent: p}, nil
	}
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			num = strings.TrimSpace(num)
			n, err := strconv.ParseFloat(num, 64)
			// A size is 0 (off) or at least a byte: "0.5B" or "-0GiB"
			// would turn the target off unnoticed.
			if err != nil || strings.HasPrefix(num, "-") || !(n == 0 || n*u.mult >= 1) || n*u.mult >= math.MaxInt64 {
				break
			}
			return GCHeapTarget{Bytes: uint64(n * u.mult)}, nil
		}
	}
	return GCHeapTarget{}, fmt.Errorf(`gc_heap_target = %q: give a percentage of the machine's memory ("25%%"), a size ("8GiB", "512MB") or "0" (off)`, s)
}

// machineMemory is the memory this process may use, in bytes: the smaller
// of MemTotal (root/proc/meminfo, as the client's fingerprint reads it, in whole MiB) and the memory limits of its cgroup
// and the cgroup's ancestors (v2 memory.max, v1 memory.limit_in_bytes;
// root/proc/self/cgroup names it). 0 when none can be read.
func machineMemory(root string) uint64 {
	var mem uint64
	if _, res, err := fingerprint.Memory(root); err == nil && res.MemoryMB > 0 {
		mem = uint64(res.MemoryMB) << 20
	}
	for _, lim := range cgroupMemoryLimits(root) {
		if lim > 0 && (mem == 0 || lim < mem) {
			mem = lim
		}
	}
	return mem
}

// cgroupMemoryLimits are the memory limits (bytes) set on the process's
// cgroup and its ancestors, in v2 and v1 hierarchies; unlimited ones
// ("max", or v1's near-2^63 value) are left out. Inside a container the
// cgroup mount is often the process's own cgroup, so the mount's root is
// read as well as the path /proc/self/cgroup names.
func cgroupMemoryLimits(root string) []uint64 {
	b, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return nil
	}
	var out []uint64
	read := func(dir, file, path string) {
		for p := filepath.Clean("/" + path); ; p = filepath.Dir(p) {
			if v, err := os.ReadFile(filepath.Join(root, "sys/fs/cgroup", dir, p, file)); err == nil {
				s := strings.TrimSpace(string(v))
				if n, err := strconv.ParseUint(s, 10, 64); err == nil && n < 1<<62 {
					out = append(out, n)
				}
			}
			if p == "/" {
				return
			}
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			read("", "memory.max", parts[2])
		case strings.Contains(","+parts[1]+",", ",memory,"):
			read("memory", "memory.limit_in_bytes", parts[2])
		}
	}
	return out
}

// startServerGC starts a server agent's GC tuning (startGCHeadroom with
// its heap target) and logs the target, or logs that GOGC in the
// environment turned the tuning off (nil then).
func startServerGC(cfg *Config, logger *slog.Logger) *gcHeadroom {
	if v := os.Getenv("GOGC"); v != "" {
		logger.Info("GOGC is set: the server's GC tuning (its headroom and gc_heap_target) is off", "GOGC", v)
		return nil
	}
	mem := machineMemory("/")
	t := cfg.serverGCHeapTarget()
	target := t.bytesOf(mem)
	logger.Info("server Go heap target", "gc_heap_target", t.String(), "bytes", target, "memory", mem)
	return startGCHeadroom(serverGCHeadroom, target)
}
