package allocrunner

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/clientstate"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/client/network"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkBridgeStartOverhead measures an allocation's start overhead of
// bridge networking over host networking, as issue 15 means it: the time
// from the alloc runner's Run to the task reported running, for the same
// task (a shell sleeping, one mapped port) in a group of network mode
// "host" and one of mode "bridge" (real CNI plugins), runs interleaved.
// It reports the medians: host-ms, bridge-ms and overhead-ms (their
// difference). It needs root and the CNI plugins in /usr/lib/cni.
func BenchmarkBridgeStartOverhead(b *testing.B) {
	if os.Getuid() != 0 {
		b.Skip("needs root (network namespaces, bridges, iptables)")
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		b.Skip("the CNI plugins are not installed (scripts/test-deps.sh)")
	}
	dir := b.TempDir()
	name := fmt.Sprintf("nlb%d", os.Getpid()%100000)
	subnet := fmt.Sprintf("172.28.%d.0/24", 20+rand.IntN(230))
	nets, err := network.New(network.Config{StateDir: filepath.Join(dir, "net"), CNIPath: "/usr/lib/cni",
		CNIConfigDir: dir, BridgeName: name, BridgeSubnet: subnet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = exec.Command("ip", "link", "del", name).Run()
		rule := []string{"-w", "5", "-t", "mangle", "-D", network.EgressChain, "-s", subnet, "!", "-d", subnet,
			"-m", "addrtype", "!", "--dst-type", "LOCAL", "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED",
			"-m", "comment", "--comment", "nomadlike egress guard " + name, "-j", "DROP"}
		_ = exec.Command("iptables", rule...).Run()
	})
	db, err := clientstate.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	drv := clienttest.NewDriver()
	node := &structs.Node{ID: "node-1", Name: "bench", Datacenter: "dc1", Attributes: map[string]string{"kernel.name": "linux"}}
	run := func(i int, mode string) time.Duration {
		job := &structs.Job{ID: "bench", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 1, Tasks: []*structs.Task{shTask("web", "", false, "sleep 60")},
			Networks: []*structs.NetworkResource{{Mode: mode, DynamicPorts: []structs.Port{{Label: "http", To: 80}}}},
		}}}
		job.Canonicalize()
		alloc := &structs.Allocation{ID: fmt.Sprintf("6c1e0a52-1c3e-4b7a-9f1e-%012d", i), Name: "bench.g[0]", Namespace: "default",
			JobID: job.ID, TaskGroup: "g", Job: job, DesiredStatus: structs.AllocDesiredStatusRun,
			AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
				Ports: []structs.PortMapping{{Label: "http", Value: 42000 + i%1000, To: 80, HostIP: "127.0.0.1"}}}}}
		r, err := New(Config{Alloc: alloc, Node: func() *structs.Node { return node }, Region: "global",
			AllocRoot: filepath.Join(dir, "alloc"), StateRoot: filepath.Join(dir, "tasks"),
			Drivers: map[string]drivers.Driver{clienttest.DriverName: drv}, Store: db,
			Logger: slog.New(slog.DiscardHandler), Networks: nets})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); r.Run(context.Background()) }()
		deadline := start.Add(30 * time.Second)
		for {
			st := r.Alloc().TaskStates["web"]
			if st != nil && st.State == structs.TaskStateRunning {
				break
			}
			if st != nil && st.State == structs.TaskStateDead || time.Now().After(deadline) {
				b.Fatalf("%s allocation did not start: %s", mode, describe(r.Alloc()))
			}
			time.Sleep(200 * time.Microsecond)
		}
		took := time.Since(start)
		b.StopTimer()
		r.Kill(nil)
		<-done // Run returns once the task is dead and the network torn down
		if err := r.Destroy(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		return took
	}
	var host, bridge []time.Duration
	run(-1, "host") // warm up: the first bridge start installs the egress guard
	run(-2, "bridge")
	b.ResetTimer()
	for i := range b.N {
		host = append(host, run(2*i, "host"))
		bridge = append(bridge, run(2*i+1, "bridge"))
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(host), "host-ms")
	b.ReportMetric(med(bridge), "bridge-ms")
	b.ReportMetric(med(bridge)-med(host), "overhead-ms")
	if attached, _ := nets.Attached(); len(attached) > 0 {
		b.Fatalf("networks left attached: %s", strings.Join(attached, ", "))
	}
}
