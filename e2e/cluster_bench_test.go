package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/internal/freeport"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Cluster benchmarks (make bench-cluster): three server agents on loopback,
// as separate processes with durable Raft storage.
//
//   BenchmarkClusterRegister: job registrations per second through the HTTP
//   API, sent to the leader and to a follower (which forwards them), one
//   writer at a time and 16 at once (exactly 16 goroutines); reports
//   regs/s, the p50 and p99 latency of one registration, and the servers'
//   CPU time, allocated bytes and garbage collections per registration;
//   then, once the scheduler has handled every registration's evaluation,
//   the servers' CPU per registration all told (sched-cpu-ms/reg) and the
//   rate over that whole time (sched-regs/s).
//   BenchmarkClusterVariables: one variable write (encrypted on the leader,
//   committed through Raft) and one read (decrypted), to the leader and to
//   a follower (which forwards; "follower-stale" reads its own state and
//   decrypts with its own wrapped copy of the key).
//   BenchmarkClusterFailover: SIGKILL of the leader to the first write
//   acknowledged by the new leader; each iteration is one trial and the
//   median is reported (run with -benchtime=5x or more).

// loopServer is a server agent on 127.0.0.1.
type loopServer struct {
	tb       testing.TB
	name     string
	http     string // 127.0.0.1:port
	rpc      string
	cfgPath  string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
	apiCache *api.Client
}

// startLoopCluster starts three servers with bootstrap_expect = 3 on
// loopback and waits for a leader.
func startLoopCluster(tb testing.TB) []*loopServer {
	tb.Helper()
	type ports struct{ http, rpc, serf int }
	ps := make([]ports, 3)
	for i := range ps {
		ps[i] = ports{freeport.TCPUDP(tb), freeport.TCPUDP(tb), freeport.TCPUDP(tb)}
	}
	var servers []*loopServer
	for i, p := range ps {
		var join []string
		for j, o := range ps {
			if j != i {
				join = append(join, fmt.Sprintf("%q", fmt.Sprintf("127.0.0.1:%d", o.serf)))
			}
		}
		dir := tb.TempDir()
		s := &loopServer{tb: tb, name: fmt.Sprintf("bench%d", i+1),
			http: fmt.Sprintf("127.0.0.1:%d", p.http), rpc: fmt.Sprintf("127.0.0.1:%d", p.rpc),
			cfgPath: filepath.Join(dir, "agent.hcl"), logPath: filepath.Join(dir, "agent.log")}
		// NOMADLIKE_BENCH_LOGS keeps the servers' logs (and whatever
		// GODEBUG=gctrace=1 writes there) in that directory after the run.
		if keep := os.Getenv("NOMADLIKE_BENCH_LOGS"); keep != "" {
			s.logPath = filepath.Join(keep, s.name+".log")
		}
		cfg := fmt.Sprintf(`
name      = %q
data_dir  = %q
bind_addr = "127.0.0.1"
log_level = "WARN"
enable_debug = true
ports {
  http = %d
  rpc  = %d
  serf = %d
}
server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join     = [%s]
    retry_interval = "1s"
  }
}
`, s.name, filepath.Join(dir, "data"), p.http, p.rpc, p.serf, strings.Join(join, ", "))
		if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
			tb.Fatal(err)
		}
		s.start()
		tb.Cleanup(s.stop)
		servers = append(servers, s)
	}
	loopLeader(tb, servers)
	return servers
}

func (s *loopServer) start() {
	tb := s.tb
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	s.cmd = exec.Command(binPath, "agent", "-config", s.cfgPath)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", s.name, err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}, f *os.File) {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}(s.cmd, s.exited, logf)
}

func (s *loopServer) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

func (s *loopServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

func (s *loopServer) api() *api.Client {
	if s.apiCache == nil {
		c, err := api.NewClient(api.Config{Address: "http://" + s.http})
		if err != nil {
			s.tb.Fatal(err)
		}
		s.apiCache = c
	}
	return s.apiCache
}

// loopLeader waits until the running servers agree on a leader among them.
func loopLeader(tb testing.TB, servers []*loopServer) *loopServer {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var leader *loopServer
		agreed := true
		addr := ""
		for _, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			l, err := s.api().Leader(ctx)
			cancel()
			if err != nil || l == "" || (addr != "" && l != addr) {
				agreed = false
				break
			}
			addr = l
			if l == s.rpc {
				leader = s
			}
		}
		if agreed && leader != nil {
			return leader
		}
		if time.Now().After(deadline) {
			for _, s := range servers {
				if b, err := os.ReadFile(s.logPath); err == nil {
					tb.Logf("%s log:\n%s", s.name, b)
				}
			}
			tb.Fatalf("no leader agreed on by %d servers within 90s", len(servers))
		}
		time.Sleep(50 * time.Millisecond) // polling interval of a condition wait
	}
}

// benchJob is a small job no node runs: registration exercises the API,
// forwarding and Raft, not the clients.
func benchJob(id string) *structs.Job {
	j := sleepJob(id, 1)
	j.Datacenters = []string{"nowhere"}
	return j
}

func BenchmarkClusterRegister(b *testing.B) {
	servers := startLoopCluster(b)
	var seq atomic.Int64
	for _, target := range []string{"leader", "follower"} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/writers=%d", target, writers), func(b *testing.B) {
				leader := loopLeader(b, servers)
				via := leader
				if target == "follower" {
					for _, s := range servers {
						if s != leader {
							via = s
							break
						}
					}
				}
				c := via.api()
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				cpu0 := clusterCPU(b, servers)
				alloc0, gcs0 := clusterRuntime(b, servers)
				b.ResetTimer()
				start := time.Now()
				// Exactly `writers` goroutines (RunParallel would start a
				// multiple of GOMAXPROCS), each taking the next iteration.
				var wg sync.WaitGroup
				for range writers {
					wg.Go(func() {
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							t := time.Now()
							registerBench(b, c, &seq)
							lat[i] = time.Since(t)
						}
					})
				}
				var profiles sync.WaitGroup
				if dir := os.Getenv("NOMADLIKE_BENCH_PROFILE"); dir != "" {
					for _, s := range servers {
						profiles.Go(func() {
							profileServer(b, s, filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+"."+s.name+".pprof"))
						})
					}
				}
				wg.Wait()
				elapsed := time.Since(start)
				cpu := clusterCPU(b, servers) - cpu0
				alloc1, gcs1 := clusterRuntime(b, servers)
				profiles.Wait()
				// Each registration leaves an evaluation for the scheduler,
				// which runs beside the writers and after them: what one
				// costs all told, and the rate that could be kept up, count
				// until it has caught up. With NOMADLIKE_BENCH_PROFILE the
				// servers are profiled again from here: the scheduler's
				// catching up alone (".drain").
				if dir := os.Getenv("NOMADLIKE_BENCH_PROFILE"); dir != "" {
					for _, s := range servers {
						profiles.Go(func() {
							profileServer(b, s, filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".drain."+s.name+".pprof"))
						})
					}
				}
				awaitEvalsDone(b, leader)
				drained := time.Since(start)
				profiles.Wait()
				cpuAll := clusterCPU(b, servers) - cpu0
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "regs/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
				b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "ms-p99")
				// CPU time of the three servers per registration: what a
				// machine shared with other work cannot blur.
				b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/reg")
				// The same until the scheduler has handled every
				// registration's evaluation, and the rate over that time.
				b.ReportMetric(float64(cpuAll.Microseconds())/1000/float64(b.N), "sched-cpu-ms/reg")
				b.ReportMetric(float64(b.N)/drained.Seconds(), "sched-regs/s")
				// Bytes the servers allocated and their garbage collections,
				// per registration: what contention does not change at all.
				b.ReportMetric((alloc1-alloc0)/1024/float64(b.N), "alloc-KB/reg")
				b.ReportMetric((gcs1-gcs0)*1000/float64(b.N), "GCs/1k-reg")
			})
		}
	}
}

// clusterCPU returns the CPU time (user and system) the servers' processes
// have used so far, from /proc/<pid>/stat.
func clusterCPU(b *testing.B, servers []*loopServer) time.Duration {
	var total time.Duration
	for _, s := range servers {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
		if err != nil {
			b.Fatalf("CPU time of %s: %v", s.name, err)
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3, utime and stime fields 14 and 15, in clock ticks.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		var utime, stime int64
		if _, err := fmt.Sscan(f[11], &utime); err != nil {
			b.Fatalf("utime of %s: %v", s.name, err)
		}
		if _, err := fmt.Sscan(f[12], &stime); err != nil {
			b.Fatalf("stime of %s: %v", s.name, err)
		}
		total += time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	return total
}

// clusterRuntime returns the bytes the servers' Go heaps allocated so far
// and the number of garbage collections they ran, from their metrics.
func clusterRuntime(b *testing.B, servers []*loopServer) (allocBytes, gcs float64) {
	for _, s := range servers {
		m := scrape(b, s)
		allocBytes += m["go_memstats_alloc_bytes_total"]
		gcs += m["go_gc_duration_seconds_count"]
	}
	return allocBytes, gcs
}

// scrape returns s's Prometheus metrics, by series ("name" or
// `name{label="value"}` as exposed).
func scrape(b *testing.B, s *loopServer) map[string]float64 {
	resp, err := http.Get("http://" + s.http + "/v1/metrics?format=prometheus")
	if err != nil {
		b.Fatalf("metrics of %s: %v", s.name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatalf("metrics of %s: %v", s.name, err)
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err != nil {
			b.Fatalf("metrics of %s: %s: %v", s.name, line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// awaitEvalsDone waits until the leader's broker holds no evaluation
// ready, held by a worker or pending behind another of its job: the
// scheduler has caught up with every registration.
func awaitEvalsDone(b *testing.B, leader *loopServer) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		m := scrape(b, leader)
		n := 0.0
		for _, st := range []string{"ready", "unacked", "pending"} {
			n += m[`nomadlike_broker_evals{state="`+st+`"}`]
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the scheduler still had %v evaluations 5 minutes after the last registration", n)
		}
		time.Sleep(20 * time.Millisecond) // polling interval of a condition wait
	}
}

// profileServer saves a CPU profile of s (2 seconds, or
// NOMADLIKE_BENCH_PROFILE_SECONDS), then its allocation profile (make
// bench-cluster with NOMADLIKE_BENCH_PROFILE=dir; run with a -benchtime
// long enough to cover it).
func profileServer(b *testing.B, s *loopServer, path string) {
	seconds := "2"
	if v := os.Getenv("NOMADLIKE_BENCH_PROFILE_SECONDS"); v != "" {
		seconds = v
	}
	for _, p := range []struct{ query, suffix string }{{"profile?seconds=" + seconds, ""}, {"allocs", ".allocs"}} {
		resp, err := http.Get("http://" + s.http + "/v1/agent/pprof/" + p.query)
		if err != nil {
			b.Errorf("profile %s: %v", s.name, err)
			return
		}
		err = saveBody(resp, path+p.suffix)
		if err != nil {
			b.Errorf("profile %s: %v", s.name, err)
			return
		}
	}
}

// saveBody writes resp's body to path and closes it.
func saveBody(resp *http.Response, path string) error {
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func registerBench(b *testing.B, c *api.Client, seq *atomic.Int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: benchJob(fmt.Sprintf("bench-%d", seq.Add(1)))}); err != nil {
		b.Errorf("register: %v", err)
	}
}

func BenchmarkClusterFailover(b *testing.B) {
	servers := startLoopCluster(b)
	var trials []time.Duration
	var seq atomic.Int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		leader := loopLeader(b, servers)
		survivors := slices.DeleteFunc(slices.Clone(servers), func(s *loopServer) bool { return s == leader })
		b.StartTimer()
		killed := time.Now()
		leader.kill()
		for n := 0; ; n++ {
			via := survivors[n%len(survivors)]
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := via.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: benchJob(fmt.Sprintf("failover-%d", seq.Add(1)))})
			cancel()
			if err == nil {
				break
			}
			if time.Since(killed) > 2*time.Minute {
				b.Fatalf("no write acknowledged within 2 minutes of killing the leader: %v", err)
			}
		}
		d := time.Since(killed)
		b.StopTimer()
		trials = append(trials, d)
		b.Logf("trial %d: SIGKILL of %s to the first acknowledged write: %s", i+1, leader.name, d.Round(time.Millisecond))
		leader.start()
		loopLeader(b, servers)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(trials)
	b.ReportMetric(float64(trials[len(trials)/2].Milliseconds()), "ms-median-failover")
	b.ReportMetric(float64(trials[len(trials)-1].Milliseconds()), "ms-max-failover")
}

func BenchmarkClusterVariables(b *testing.B) {
	servers := startLoopCluster(b)
	ctx := context.Background()
	v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: "bench/db"},
		Items: map[string]string{"user": "admin", "password": "0123456789abcdef0123456789abcdef"}}
	leader := loopLeader(b, servers)
	// The leader makes the first root key right after its election.
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := leader.api().PutVariable(ctx, v, "", nil)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("first variable write: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, target := range []string{"leader", "follower", "follower-stale"} {
		via := leader
		if target != "leader" {
			for _, s := range servers {
				if s != leader {
					via = s
					break
				}
			}
		}
		c := via.api()
		if target != "follower-stale" {
			b.Run("write/"+target, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := c.PutVariable(ctx, v, "", nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		q := &api.QueryOptions{AllowStale: target == "follower-stale"}
		b.Run("read/"+target, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				got, _, err := c.Variable(ctx, "bench/db", q)
				if err != nil || got.Items["user"] != "admin" {
					b.Fatalf("read: %+v, %v", got, err)
				}
			}
		})
	}
}
