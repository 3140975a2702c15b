// Command benche2e measures a fresh dev agent end to end (make bench-e2e):
// the time from `job run` to 100 raw_exec allocations running, the time from
// `job stop` to all their processes gone, and the agent's memory idle and with
// the 100 allocations (agent plus the per-task supervisor processes).
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

func main() {
	bin := flag.String("bin", "bin/nomadlike", "the nomadlike binary")
	count := flag.Int("count", 100, "allocations to run")
	idle := flag.Duration("idle", 30*time.Second, "how long the agent idles before its memory is read")
	flag.Parse()
	if err := run(*bin, *count, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "bench-e2e:", err)
		os.Exit(1)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(bin string, count int, idle time.Duration) error {
	bin, _ = filepath.Abs(bin)
	dir, err := os.MkdirTemp("", "nomadlike-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	hp := freePort()
	cfg := fmt.Sprintf("data_dir = %q\nports {\n  http = %d\n  rpc = %d\n  serf = %d\n}\n", filepath.Join(dir, "data"), hp, freePort(), freePort())
	cfgPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	agent := exec.Command(bin, "agent", "-dev", "-config", cfgPath)
	agent.Stdout, agent.Stderr = logf, logf
	if err := agent.Start(); err != nil {
		return err
	}
	defer func() {
		_ = agent.Process.Signal(syscall.SIGINT)
		_ = agent.Wait()
	}()
	addr := fmt.Sprintf("http://127.0.0.1:%d", hp)
	c, err := api.NewClient(api.Config{Address: addr})
	if err != nil {
		return err
	}
	if err := waitUntil(60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		nodes, _, err := c.ListNodes(ctx, nil)
		return err == nil && len(nodes) == 1 && nodes[0].Status == "ready"
	}); err != nil {
		return fmt.Errorf("agent did not become ready: %w", err)
	}
	fmt.Printf("agent ready; idling %s\n", idle)
	time.Sleep(idle) // the measurement is "memory after idling", not a synchronisation
	rss, pss := memOf([]int{agent.Process.Pid})
	fmt.Printf("idle agent: RSS %.1f MB, PSS %.1f MB\n", mb(rss), mb(pss))

	token := fmt.Sprintf("bench-%d", os.Getpid())
	job := fmt.Sprintf(`job "bench" {
  group "g" {
    count = %d
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      env { BENCH_RUN = %q }
      resources {
        cpu    = 10
        memory = 10
      }
    }
  }
}
`, count, token)
	jobPath := filepath.Join(dir, "bench.nomad.hcl")
	if err := os.WriteFile(jobPath, []byte(job), 0o644); err != nil {
		return err
	}
	start := time.Now()
	if out, err := exec.Command(bin, "-address", addr, "job", "run", "-detach", jobPath).CombinedOutput(); err != nil {
		return fmt.Errorf("job run: %v\n%s", err, out)
	}
	var index uint64
	if err := waitUntil(2*time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		allocs, meta, err := c.JobAllocations(ctx, "bench", &api.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			return false
		}
		index = meta.LastIndex
		running := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				running++
			}
		}
		return running == count
	}); err != nil {
		return fmt.Errorf("%d allocations never all ran: %w", count, err)
	}
	toRunning := time.Since(start)
	fmt.Printf("job run -> %d allocations running: %s\n", count, toRunning.Round(time.Millisecond))

	sups := supervisors(dir)
	pids := append([]int{agent.Process.Pid}, sups...)
	rss, pss = memOf(pids)
	fmt.Printf("with %d allocations: agent + %d supervisors: RSS %.1f MB, PSS %.1f MB (agent alone RSS %.1f MB)\n",
		count, len(pids)-1, mb(rss), mb(pss), func() float64 { r, _ := memOf(pids[:1]); return mb(r) }())
	if len(sups) > 0 {
		_, spss := memOf(sups)
		fmt.Printf("per supervisor: PSS %.0f kB, anonymous %.0f kB\n",
			float64(spss)/1024/float64(len(sups)), float64(anonOf(sups))/1024/float64(len(sups)))
	}

	// Find the tasks' processes while they run; after the stop, poll just
	// those PIDs (reading /proc/*/environ of exiting processes blocks on
	// their memory teardown and would measure the scan, not the stop).
	tasks := procsWithEnv("BENCH_RUN", token)
	if len(tasks) < count {
		return fmt.Errorf("found %d task processes, want %d", len(tasks), count)
	}
	start = time.Now()
	if out, err := exec.Command(bin, "-address", addr, "job", "stop", "-detach", "bench").CombinedOutput(); err != nil {
		return fmt.Errorf("job stop: %v\n%s", err, out)
	}
	if err := waitUntil(2*time.Minute, func() bool { return !anyAlive(tasks) }); err != nil {
		return fmt.Errorf("task processes did not end: %w", err)
	}
	fmt.Printf("job stop -> all %d processes gone: %s\n", count, time.Since(start).Round(time.Millisecond))
	return nil
}

func waitUntil(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// memOf sums RSS and PSS (from smaps_rollup) of pids, in bytes.
func memOf(pids []int) (rss, pss int64) {
	t := smapsTotals(pids, "Rss:", "Pss:")
	return t[0], t[1]
}

// smapsTotals sums the named /proc/<pid>/smaps_rollup fields ("Rss:",
// "Pss:", ...) over pids, in bytes, in the order named.
func smapsTotals(pids []int, names ...string) []int64 {
	out := make([]int64, len(names))
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			if len(fields) < 2 {
				continue
			}
			if i := slices.Index(names, fields[0]); i >= 0 {
				kb, _ := strconv.ParseInt(fields[1], 10, 64)
				out[i] += kb << 10
			}
		}
		f.Close()
	}
	return out
}

// anyAlive reports whether any of pids is still a live (non-zombie) process.
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The state follows the command name in parentheses: "pid (comm) S ...".
		if i := bytes.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] != 'Z' && st[i+2] != 'X' {
			return true
		}
	}
	return false
}

// anonOf sums the anonymous (private, not file-backed) memory of pids, in
// bytes.
func anonOf(pids []int) int64 {
	return smapsTotals(pids, "Anonymous:")[0]
}

// supervisors returns the PIDs of the task supervisor processes whose spec
// is under dir (this run's; other agents on the host have their own).
func supervisors(dir string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte("\x00__supervise\x00")) && bytes.Contains(cmd, []byte(dir)) {
			out = append(out, pid)
		}
	}
	return out
}

func procsWithEnv(key, value string) []int {
	want := []byte(key + "=" + value)
	var pids []int
	entries, _ := os.ReadDir("/proc")
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
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
