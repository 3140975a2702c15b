package client

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// AllocStats returns the resource usage of an allocation on this node: each
// running task's, as its driver measures it, and their sum. An unknown
// allocation is a 404.
func (c *Client) AllocStats(ctx context.Context, allocID string) (*structs.AllocResourceUsage, error) {
	e, err := c.entry(allocID)
	if err != nil {
		return nil, err
	}
	return e.runner.Stats(ctx)
}

// hostCPUInterval is how long HostStats samples /proc/stat for CPU rates.
const hostCPUInterval = 100 * time.Millisecond

// HostStats returns this host's memory, per-core CPU use (sampled over a
// short interval), disk use of its filesystems and of the allocation dir,
// and uptime, in Nomad's HostStats shape.
func (c *Client) HostStats(ctx context.Context) (*structs.HostStats, error) {
	hs := &structs.HostStats{Timestamp: time.Now().UnixNano()}
	var err error
	if hs.Memory, err = hostMemory("/proc/meminfo"); err != nil {
		return nil, err
	}
	if hs.Uptime, err = hostUptime("/proc/uptime"); err != nil {
		return nil, err
	}
	before, err := readCPUTimes("/proc/stat")
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(hostCPUInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	after, err := readCPUTimes("/proc/stat")
	if err != nil {
		return nil, err
	}
	hs.CPU = cpuRates(before, after)
	for _, cpu := range hs.CPU {
		hs.CPUTicksConsumed += (cpu.User + cpu.System) / 100 * supervisor.CoreMHz()
	}
	hs.DiskStats = hostDisks("/proc/self/mounts")
	allocRoot := c.cfg.DataDir + "/alloc"
	if d, err := diskStats("", allocRoot); err == nil {
		hs.AllocDirStats = d
	}
	return hs, nil
}

// hostMemory reads /proc/meminfo (kB) into bytes.
func hostMemory(path string) (*structs.HostMemoryStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("host memory: %w", err)
	}
	defer f.Close()
	kb := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err == nil {
			kb[k] = n * 1024
		}
	}
	if kb["MemTotal"] == 0 {
		return nil, fmt.Errorf("host memory: no MemTotal in %s", path)
	}
	m := &structs.HostMemoryStats{Total: kb["MemTotal"], Free: kb["MemFree"], Available: kb["MemAvailable"]}
	if m.Available == 0 {
		m.Available = m.Free + kb["Buffers"] + kb["Cached"]
	}
	m.Used = m.Total - m.Available
	return m, nil
}

// hostUptime reads /proc/uptime in whole seconds.
func hostUptime(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("host uptime: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, fmt.Errorf("host uptime: %s is empty", path)
	}
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("host uptime: %s: %w", path, err)
	}
	return uint64(secs), nil
}

// coreTimes are one core's cumulative jiffies from /proc/stat.
type coreTimes struct {
	name                string
	user, system, total uint64
}

// readCPUTimes reads the per-core "cpuN" lines of /proc/stat.
func readCPUTimes(path string) ([]coreTimes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("host CPU: %w", err)
	}
	defer f.Close()
	var out []coreTimes
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || !strings.HasPrefix(fields[0], "cpu") || fields[0] == "cpu" {
			continue
		}
		ct := coreTimes{name: fields[0]}
		for i, s := range fields[1:] {
			n, _ := strconv.ParseUint(s, 10, 64)
			// user nice system idle iowait irq softirq steal (guest time is
			// already counted in user).
			if i >= 8 {
				break
			}
			ct.total += n
			switch i {
			case 0, 1:
				ct.user += n
			case 2, 5, 6:
				ct.system += n
			}
		}
		out = append(out, ct)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("host CPU: no cpuN lines in %s", path)
	}
	return out, nil
}

// cpuRates computes each core's user, system and idle percent between two samples.
func cpuRates(before, after []coreTimes) []*structs.HostCPUStats {
	prev := make(map[string]coreTimes, len(before))
	for _, b := range before {
		prev[b.name] = b
	}
	out := make([]*structs.HostCPUStats, 0, len(after))
	for _, a := range after {
		b, ok := prev[a.name]
		total := float64(a.total - b.total)
		if !ok || a.total <= b.total {
			out = append(out, &structs.HostCPUStats{CPU: a.name, Idle: 100})
			continue
		}
		user := float64(a.user-b.user) / total * 100
		sys := float64(a.system-b.system) / total * 100
		out = append(out, &structs.HostCPUStats{CPU: a.name, User: user, System: sys, Idle: max(0, 100-user-sys)})
	}
	return out
}

// diskFS are the filesystem types HostStats reports (real storage, not
// pseudo filesystems).
var diskFS = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "zfs": true, "f2fs": true, "vfat": true}

// hostDisks reports the use of each real filesystem mounted on the host.
func hostDisks(mounts string) []*structs.HostDiskStats {
	f, err := os.Open(mounts)
	if err != nil {
		return nil
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []*structs.HostDiskStats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !diskFS[fields[2]] || seen[fields[0]] {
			continue
		}
		seen[fields[0]] = true
		if d, err := diskStats(fields[0], fields[1]); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// diskStats is statfs of path.
func diskStats(device, path string) (*structs.HostDiskStats, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, err
	}
	bs := uint64(st.Bsize)
	d := &structs.HostDiskStats{Device: device, Mountpoint: path, Size: st.Blocks * bs, Available: st.Bavail * bs}
	d.Used = (st.Blocks - st.Bfree) * bs
	if used := d.Used + d.Available; used > 0 {
		d.UsedPercent = float64(d.Used) / float64(used) * 100
	}
	if st.Files > 0 {
		d.InodesUsedPercent = float64(st.Files-st.Ffree) / float64(st.Files) * 100
	}
	return d, nil
}
