package supervisor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Resource usage of a process tree, for drivers' TaskStats: memory from
// /proc/<pid>/stat's RSS, CPU from its utime and stime, turned into rates
// over the interval between two samples as Nomad's executor does.

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// MinSampleInterval is the shortest interval CPU rates are computed over; a
// first sample of a task waits this long for a second.
const MinSampleInterval = 100 * time.Millisecond

// CPUTimes are cumulative CPU times.
type CPUTimes struct {
	User, System time.Duration
	// Total is User+System, or a counter of its own (a cgroup's usage).
	Total time.Duration
}

// CPURates are CPU percentages of one core over an interval.
type CPURates struct {
	User, System, Total float64
}

type cpuPoint struct {
	at    time.Time
	times CPUTimes
	rates CPURates
	valid bool
}

// CPUTracker turns cumulative CPU times into rates between samples, for a
// set of keys (a task's total, its pids). The zero value is ready; it is
// safe for concurrent use.
type CPUTracker struct {
	mu   sync.Mutex
	prev map[string]cpuPoint
}

// Rates records the cumulative times sampled at `at` and returns each key's
// rates since its previous sample; a key seen for the first time is missing
// from the result. Samples closer than MinSampleInterval to the previous one
// return the previous rates. Keys absent from times are forgotten.
func (t *CPUTracker) Rates(at time.Time, times map[string]CPUTimes) map[string]CPURates {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[string]cpuPoint, len(times))
	out := make(map[string]CPURates, len(times))
	for k, cur := range times {
		p, ok := t.prev[k]
		switch {
		case !ok:
			next[k] = cpuPoint{at: at, times: cur}
		case at.Sub(p.at) < MinSampleInterval:
			next[k] = p
			if p.valid {
				out[k] = p.rates
			}
		default:
			wall := at.Sub(p.at).Seconds()
			r := CPURates{
				User:   pct(cur.User-p.times.User, wall),
				System: pct(cur.System-p.times.System, wall),
				Total:  pct(cur.Total-p.times.Total, wall),
			}
			next[k] = cpuPoint{at: at, times: cur, rates: r, valid: true}
			out[k] = r
		}
	}
	t.prev = next
	return out
}

// pct is d as a percentage of wall seconds; a counter that went backwards
// (a restarted process) counts as zero.
func pct(d time.Duration, wall float64) float64 {
	if d <= 0 || wall <= 0 {
		return 0
	}
	return d.Seconds() / wall * 100
}

// SampleRates samples with read, and when that yields no rate for key (a
// first sample), waits MinSampleInterval (bounded by ctx) and samples again.
func (t *CPUTracker) SampleRates(ctx context.Context, key string, read func() (map[string]CPUTimes, error)) (map[string]CPURates, error) {
	times, err := read()
	if err != nil {
		return nil, err
	}
	rates := t.Rates(time.Now(), times)
	if _, ok := rates[key]; ok {
		return rates, nil
	}
	timer := time.NewTimer(MinSampleInterval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
	}
	if times, err = read(); err != nil {
		return nil, err
	}
	return t.Rates(time.Now(), times), nil
}

// ProcUsage is one process's cumulative CPU times and resident memory.
type ProcUsage struct {
	CPU CPUTimes
	RSS uint64 // bytes
}

// readProcUsage reads /proc/<pid>/stat: utime (field 14), stime (15) and
// rss in pages (24), counted after the command name's last ')'.
func readProcUsage(pid int) (ProcUsage, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcUsage{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcUsage{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 22 {
		return ProcUsage{}, fmt.Errorf("/proc/%d/stat: %d fields, want at least 24", pid, len(f)+2)
	}
	num := func(s []byte) uint64 { n, _ := strconv.ParseUint(string(s), 10, 64); return n }
	tick := time.Second / clockTicks
	u := ProcUsage{RSS: num(f[21]) * uint64(os.Getpagesize())}
	u.CPU.User = time.Duration(num(f[11])) * tick
	u.CPU.System = time.Duration(num(f[12])) * tick
	u.CPU.Total = u.CPU.User + u.CPU.System
	return u, nil
}

// TreeUsage reads the usage of root and every live descendant, by pid.
// Processes that vanish meanwhile are left out; an error means root itself
// could not be read (it has exited).
func TreeUsage(root int) (map[int]ProcUsage, error) {
	ru, err := readProcUsage(root)
	if err != nil {
		return nil, fmt.Errorf("read usage of task process %d: %w", root, err)
	}
	out := map[int]ProcUsage{root: ru}
	for _, pid := range descendants(root) {
		if u, err := readProcUsage(pid); err == nil {
			out[pid] = u
		}
	}
	return out, nil
}

// CoreMHz is the speed of one core in MHz from /proc/cpuinfo (the highest
// "cpu MHz" listed), 0 when unknown. It is read once.
var CoreMHz = sync.OnceValue(func() float64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	var best float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "cpu MHz" {
			continue
		}
		if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > best {
			best = mhz
		}
	}
	return best
})

// CPUStats converts rates to Nomad's CpuStats (TotalTicks: MHz used).
func CPUStats(r CPURates, measured ...string) *structs.CpuStats {
	return &structs.CpuStats{
		UserMode: r.User, SystemMode: r.System, Percent: r.Total,
		TotalTicks: r.Total / 100 * CoreMHz(),
		Measured:   measured,
	}
}

// TreeStats samples a process tree's usage as a TaskResourceUsage: the
// total and each pid's RSS and CPU rates, tracked in t between calls.
func (t *CPUTracker) TreeStats(ctx context.Context, root int) (*structs.TaskResourceUsage, error) {
	var last map[int]ProcUsage
	read := func() (map[string]CPUTimes, error) {
		procs, err := TreeUsage(root)
		if err != nil {
			return nil, err
		}
		last = procs
		times := make(map[string]CPUTimes, len(procs)+1)
		var total CPUTimes
		for pid, u := range procs {
			times[strconv.Itoa(pid)] = u.CPU
			total.User += u.CPU.User
			total.System += u.CPU.System
			total.Total += u.CPU.Total
		}
		times[treeTotalKey] = total
		return times, nil
	}
	rates, err := t.SampleRates(ctx, treeTotalKey, read)
	if err != nil {
		return nil, err
	}
	measuredMem := []string{"RSS"}
	measuredCPU := []string{"System Mode", "User Mode", "Percent"}
	out := &structs.TaskResourceUsage{Timestamp: time.Now().UnixNano(), Pids: make(map[string]*structs.ResourceUsage, len(last))}
	var rss uint64
	for pid, u := range last {
		key := strconv.Itoa(pid)
		rss += u.RSS
		out.Pids[key] = &structs.ResourceUsage{
			MemoryStats: &structs.MemoryStats{RSS: u.RSS, Measured: measuredMem},
			CpuStats:    CPUStats(rates[key], measuredCPU...),
		}
	}
	out.ResourceUsage = &structs.ResourceUsage{
		MemoryStats: &structs.MemoryStats{RSS: rss, Measured: measuredMem},
		CpuStats:    CPUStats(rates[treeTotalKey], measuredCPU...),
	}
	return out, nil
}

// treeTotalKey is the tracker key of a tree's total (pids are numbers).
const treeTotalKey = "total"
