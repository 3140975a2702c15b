package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Heartbeat settings of the restart and failover cluster: a node is marked
// down 15s after its last heartbeat (TTL 5s + grace 10s), and a new leader
// waits 20s for every node's first heartbeat.
const (
	failoverServerHCL = `
  min_heartbeat_ttl      = "5s"
  heartbeat_grace        = "10s"
  failover_heartbeat_ttl = "20s"
`
	failoverTTL  = 5 * time.Second
	failoverDown = 15 * time.Second // TTL + grace: no heartbeat for this long marks the node down
)

// startNsClusterWith starts three servers (with serverExtra inside their
// server block) and the given number of clients, each in its own netns.
func startNsClusterWith(t *testing.T, clients int, serverExtra string) *cluster {
	l := newLab(t, 3+clients)
	c := &cluster{t: t, lab: l}
	for _, h := range l.hosts[:3] {
		c.servers = append(c.servers, startNsAgent(t, h, fmt.Sprintf("server%d", h.idx), serverHCLWith(l, h, serverExtra)))
	}
	for _, h := range l.hosts[3:] {
		c.clients = append(c.clients, startNsAgent(t, h, fmt.Sprintf("client%d", h.idx), clientHCL(l, h)))
	}
	return c
}

// signal sends sig to the agent and waits up to 30s for it to exit.
func (a *nsAgent) signal(sig syscall.Signal) {
	a.t.Helper()
	if !a.running() {
		return
	}
	_ = a.cmd.Process.Signal(sig)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.t.Errorf("agent %s did not exit 30s after %s", a.name, sig)
		a.kill()
	}
}

// waitNodesReady waits until n nodes are ready, as the leader sees them,
// and returns their IDs.
func (c *cluster) waitNodesReady(via *nsAgent, n int) []string {
	c.t.Helper()
	var ids []string
	waitFor(c.t, 60*time.Second, fmt.Sprintf("%d client nodes ready", n), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		nodes, _, err := via.api().ListNodes(ctx, nil)
		if err != nil {
			return false, err.Error()
		}
		ids = ids[:0]
		for _, nd := range nodes {
			if nd.Status == structs.NodeStatusReady {
				ids = append(ids, nd.ID)
			}
		}
		return len(ids) == n, fmt.Sprintf("%d of %d nodes ready", len(ids), len(nodes))
	})
	return ids
}

// clientServers is GET /v1/agent/servers on a client agent.
func clientServers(a *nsAgent) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return a.api().AgentServers(ctx)
}

// httpAddr is the agent's HTTP host:port, as clients list it.
func (a *nsAgent) httpAddr() string { return a.host.ip + ":4646" }

// watchNoLoss polls, through the given servers, until stop is closed: the
// node must stay ready and none of the job's allocations may become lost.
// It returns the violations it saw (a read that fails, e.g. during an
// election, is not one).
func watchNoLoss(servers []*nsAgent, nodeID, jobID string, stop <-chan struct{}) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var bad []string
		seen := map[string]bool{}
		report := func(s string) {
			if !seen[s] {
				seen[s] = true
				bad = append(bad, s)
			}
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				out <- bad
				return
			case <-time.After(250 * time.Millisecond): // polling interval of an observation window, not a synchronisation
			}
			via := servers[i%len(servers)]
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			node, _, err := via.api().Node(ctx, nodeID, nil)
			if err == nil && node.Status != structs.NodeStatusReady {
				report(fmt.Sprintf("node %s became %s (%s)", nodeID, node.Status, node.StatusDescription))
			}
			allocs, _, err := via.api().JobAllocations(ctx, jobID, nil)
			cancel()
			if err != nil {
				continue
			}
			for _, a := range allocs {
				if a.ClientStatus == structs.AllocClientStatusLost || a.DesiredStatus != structs.AllocDesiredStatusRun {
					report(fmt.Sprintf("allocation %s became %s/%s (%s)", a.ID, a.DesiredStatus, a.ClientStatus, a.DesiredDescription))
				}
			}
		}
	}()
	return out
}

// TestClusterClientFailoverAndRestart: a client whose server dies keeps
// heartbeating through another server and none of its allocations is
// marked lost (first its server is a follower, then the leader); then all
// three servers are stopped (SIGTERM, and then SIGKILL) and started again
// with the same data dirs: jobs, allocations and evaluations are intact, a
// leader is elected and new writes are accepted and run.
func TestClusterClientFailoverAndRestart(t *testing.T) {
	killLeftovers(t)
	c := startNsClusterWith(t, 1, failoverServerHCL)
	client := c.clients[0]
	leader := c.waitLeader(c.servers, 60*time.Second)
	nodeID := c.waitNodesReady(leader, 1)[0]
	if err := c.register(leader, sleepJob("keep", 2)); err != nil {
		t.Fatalf("register: %v", err)
	}
	keep := c.runningAllocs(leader, "keep", 2)

	for _, which := range []string{"follower", "leader"} {
		t.Run("the client's server dies: it is a "+which, func(t *testing.T) {
			c.t = t
			leader := c.waitLeader(c.servers, 60*time.Second)
			victim := leader
			if which == "follower" {
				victim = except(c.servers, leader)[0]
			}
			// Point the client at the victim first (PUT /v1/agent/servers).
			order := append([]*nsAgent{victim}, except(c.servers, victim)...)
			var addrs []string
			for _, s := range order {
				addrs = append(addrs, s.httpAddr())
			}
			if out, code := client.cli("node", "config", "-update-servers", addrs[0], addrs[1], addrs[2]); code != 0 {
				t.Fatalf("node config -update-servers exited %d: %s", code, out)
			}
			// The next heartbeat goes to the victim; its replies keep it current.
			waitFor(t, 30*time.Second, "the client to use "+victim.name, func() (bool, string) {
				got, err := clientServers(client)
				if err != nil {
					return false, err.Error()
				}
				return len(got) > 0 && got[0] == victim.httpAddr(), fmt.Sprintf("client servers %v", got)
			})
			if out, code := client.cli("node", "config", "-servers"); code != 0 || !strings.HasPrefix(out, victim.httpAddr()) {
				t.Errorf("node config -servers exited %d, want %s first:\n%s", code, victim.httpAddr(), out)
			}
			survivors := except(c.servers, victim)
			stop := make(chan struct{})
			result := watchNoLoss(survivors, nodeID, "keep", stop)
			killed := time.Now()
			victim.kill()
			// The client moves to a live server.
			waitFor(t, 30*time.Second, "the client to move off the dead server", func() (bool, string) {
				got, err := clientServers(client)
				if err != nil {
					return false, err.Error()
				}
				return len(got) > 0 && got[0] != victim.httpAddr(), fmt.Sprintf("client servers %v", got)
			})
			t.Logf("MEASURE the client moved off the dead %s %s after SIGKILL", which, time.Since(killed).Round(time.Millisecond))
			newLeader := c.waitLeader(survivors, 60*time.Second)
			// Watch for several TTLs past the point where a missed heartbeat
			// would mark the node down: after the kill for a follower (the
			// leader's timers keep running), after the election for a
			// leader (the new leader re-arms them with failover_heartbeat_ttl).
			from := killed
			window := failoverDown + 3*failoverTTL
			if which == "leader" {
				from = time.Now()
				window = 20*time.Second + 2*failoverTTL
			}
			deadline := from.Add(window)
			waitFor(t, window+30*time.Second, "the observation window to pass", func() (bool, string) {
				return time.Now().After(deadline), "still observing"
			})
			close(stop)
			if bad := <-result; len(bad) > 0 {
				t.Errorf("while %s (the client's server) was dead:\n%s", victim.name, strings.Join(bad, "\n"))
			}
			now := c.runningAllocs(newLeader, "keep", 2)
			for id := range keep {
				if _, ok := now[id]; !ok {
					t.Errorf("allocation %s of keep no longer runs", id)
				}
			}
			victim.start()
			c.waitLeader(c.servers, 60*time.Second)
			c.waitMembersAlive()
		})
	}
	c.t = t

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(fmt.Sprintf("restart all three servers after %s", sig), func(t *testing.T) {
			c.t = t
			leader := c.waitLeader(c.servers, 60*time.Second)
			job := fmt.Sprintf("before-%s", strings.ToLower(sig.String()[:4]))
			if err := c.register(leader, sleepJob(job, 1)); err != nil {
				t.Fatalf("register: %v", err)
			}
			c.runningAllocs(leader, job, 1)
			before := waitQuiet(t, leader)
			var wg sync.WaitGroup
			for _, s := range c.servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if sig == syscall.SIGKILL {
						s.kill()
					} else {
						s.signal(sig)
					}
				}()
			}
			wg.Wait()
			stopped := time.Now()
			for _, s := range c.servers {
				s.start()
			}
			leader = c.waitLeader(c.servers, 90*time.Second)
			t.Logf("MEASURE %s re-elected leader %s after all three restarted", leader.name, time.Since(stopped).Round(time.Millisecond))
			c.waitConverged(c.servers)
			after := clusterState(t, leader)
			compareStates(t, before, after)
			for _, s := range c.servers {
				got, err := jobsOn(s)
				if err != nil || len(got) != len(c.acked) {
					t.Errorf("%s holds jobs %v (%v) after the restart, want %d", s.name, got, err, len(c.acked))
				}
			}
			// New writes are accepted, and they run.
			newJob := fmt.Sprintf("after-%s", strings.ToLower(sig.String()[:4]))
			if err := c.register(except(c.servers, leader)[0], sleepJob(newJob, 1)); err != nil {
				t.Fatalf("write after the restart: %v", err)
			}
			c.runningAllocs(leader, newJob, 1)
			c.waitNodesReady(leader, 1)
			now := c.runningAllocs(leader, "keep", 2)
			for id := range keep {
				if _, ok := now[id]; !ok {
					t.Errorf("allocation %s of keep no longer runs after the restart", id)
				}
			}
		})
	}
	c.t = t

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range c.acked {
		if _, err := c.servers[0].api().DeregisterJob(ctx, id, true); err != nil {
			t.Logf("clean up: stop job %s: %v", id, err)
		}
	}
}

// stateView is what must survive a restart of every server.
type stateView struct {
	jobs   map[string]string // ID -> job modify index, status
	allocs map[string]string // ID -> job, node, desired and client status
	evals  map[string]string // ID -> job, status (terminal evals only)
}

// clusterState reads the jobs, allocations and evaluations through via.
func clusterState(t *testing.T, via *nsAgent) stateView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v := stateView{jobs: map[string]string{}, allocs: map[string]string{}, evals: map[string]string{}}
	cl := via.api()
	jobs, _, err := cl.ListJobs(ctx, nil)
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	for _, j := range jobs {
		v.jobs[j.ID] = fmt.Sprintf("job modify index %d, %s", j.JobModifyIndex, j.Status)
	}
	allocs, _, err := cl.ListAllocations(ctx, nil)
	if err != nil {
		t.Fatalf("list allocations: %v", err)
	}
	for _, a := range allocs {
		v.allocs[a.ID] = fmt.Sprintf("job %s on %s, %s/%s", a.JobID, a.NodeID, a.DesiredStatus, a.ClientStatus)
	}
	evals, _, err := cl.ListEvaluations(ctx, nil)
	if err != nil {
		t.Fatalf("list evaluations: %v", err)
	}
	for _, e := range evals {
		if e.TerminalStatus() {
			v.evals[e.ID] = fmt.Sprintf("job %s, %s", e.JobID, e.Status)
		} else {
			v.evals[e.ID] = fmt.Sprintf("job %s, not terminal", e.JobID)
		}
	}
	return v
}

// waitQuiet waits until the cluster's jobs, allocations and evaluations
// read the same twice in a row a second apart, and returns them.
func waitQuiet(t *testing.T, via *nsAgent) stateView {
	t.Helper()
	prev := clusterState(t, via)
	waitFor(t, 60*time.Second, "the cluster state to settle", func() (bool, string) {
		time.Sleep(time.Second) // spacing between two reads compared for equality, not a synchronisation
		cur := clusterState(t, via)
		same := fmt.Sprint(cur) == fmt.Sprint(prev)
		prev = cur
		return same, "the state still changes"
	})
	return prev
}

// compareStates reports every job, allocation and evaluation of before
// that is missing or different after.
func compareStates(t *testing.T, before, after stateView) {
	t.Helper()
	for _, kind := range []struct {
		name   string
		before map[string]string
		after  map[string]string
	}{{"job", before.jobs, after.jobs}, {"allocation", before.allocs, after.allocs}, {"evaluation", before.evals, after.evals}} {
		var ids []string
		for id := range kind.before {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			got, ok := kind.after[id]
			switch {
			case !ok:
				t.Errorf("%s %s (%s) is gone after the restart", kind.name, id, kind.before[id])
			case got != kind.before[id] && !strings.HasSuffix(kind.before[id], "not terminal"):
				t.Errorf("%s %s changed across the restart: was %s, now %s", kind.name, id, kind.before[id], got)
			}
		}
		t.Logf("%d %ss before the restart, %d after", len(kind.before), kind.name, len(kind.after))
	}
}
