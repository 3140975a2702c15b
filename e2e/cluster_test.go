package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// chaosRounds is how many SIGKILL and partition rounds the cluster test
// runs: 1 in `make test`, more under `make chaos` (NOMADLIKE_CHAOS_ROUNDS).
func chaosRounds(t *testing.T) int {
	if v := os.Getenv("NOMADLIKE_CHAOS_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("NOMADLIKE_CHAOS_ROUNDS=%q must be a positive integer", v)
		}
		return n
	}
	return 1
}

// cluster is three servers and two clients, each in its own namespace.
type cluster struct {
	t       *testing.T
	lab     *lab
	servers []*nsAgent
	clients []*nsAgent
	// acked are the jobs whose registration was acknowledged.
	acked []string
}

func serverHCL(l *lab, h *host) string { return serverHCLWith(l, h, "") }

// serverHCLWith is serverHCL with extra settings inside the server block.
func serverHCLWith(l *lab, h *host, extra string) string {
	var others []string
	for _, o := range l.hosts[:3] {
		if o != h {
			others = append(others, fmt.Sprintf("%q", o.ip))
		}
	}
	return fmt.Sprintf(`
name      = "server%d"
data_dir  = %q
bind_addr = %q
log_level = "DEBUG"
server {
  enabled          = true
  bootstrap_expect = 3
  server_join {
    retry_join     = [%s]
    retry_interval = "1s"
  }
%s
}
`, h.idx, filepath.Join(l.t.TempDir(), "data"), h.ip, strings.Join(others, ", "), extra)
}

func clientHCL(l *lab, h *host) string {
	var servers []string
	for _, o := range l.hosts[:3] {
		servers = append(servers, fmt.Sprintf("%q", o.ip+":4646"))
	}
	return fmt.Sprintf(`
name      = "client%d"
data_dir  = %q
bind_addr = %q
log_level = "DEBUG"
client {
  enabled = true
  servers = [%s]
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, h.idx, filepath.Join(l.t.TempDir(), "data"), h.ip, strings.Join(servers, ", "))
}

func startNsCluster(t *testing.T) *cluster {
	l := newLab(t, 5)
	c := &cluster{t: t, lab: l}
	for _, h := range l.hosts[:3] {
		c.servers = append(c.servers, startNsAgent(t, h, fmt.Sprintf("server%d", h.idx), serverHCL(l, h)))
	}
	for _, h := range l.hosts[3:] {
		c.clients = append(c.clients, startNsAgent(t, h, fmt.Sprintf("client%d", h.idx), clientHCL(l, h)))
	}
	return c
}

// leaderOf asks a (the agent answers locally) who leads: the index into
// c.servers, or -1.
func (c *cluster) leaderOf(a *nsAgent) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	leader, err := a.api().Leader(ctx)
	if err != nil || leader == "" {
		return -1
	}
	for i, s := range c.servers {
		if leader == s.host.ip+":4647" {
			return i
		}
	}
	return -1
}

// waitLeader waits until every server in among agrees on one leader in
// among, and returns it.
func (c *cluster) waitLeader(among []*nsAgent, timeout time.Duration) *nsAgent {
	c.t.Helper()
	var leader *nsAgent
	waitFor(c.t, timeout, "one leader agreed on by "+names(among), func() (bool, string) {
		idx := -2
		for _, s := range among {
			i := c.leaderOf(s)
			if i < 0 {
				return false, s.name + " knows no leader"
			}
			if idx != -2 && i != idx {
				return false, "the servers disagree on the leader"
			}
			idx = i
		}
		leader = c.servers[idx]
		for _, s := range among {
			if s == leader {
				return true, ""
			}
		}
		return false, "the agreed leader " + leader.name + " is not among them"
	})
	return leader
}

func names(as []*nsAgent) string {
	var out []string
	for _, a := range as {
		out = append(out, a.name)
	}
	return strings.Join(out, ",")
}

func except(as []*nsAgent, x *nsAgent) []*nsAgent {
	var out []*nsAgent
	for _, a := range as {
		if a != x {
			out = append(out, a)
		}
	}
	return out
}

// sleepJob runs count raw_exec sleeps, tagged for cleanup.
func sleepJob(id string, count int) *structs.Job {
	return &structs.Job{
		ID: id, Name: id, Type: structs.JobTypeService, Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: count,
			Tasks: []*structs.Task{{Name: "sleep", Driver: "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"3600"}},
				Env:       map[string]string{"E2E_RUN": runToken},
				Resources: &structs.Resources{CPU: 20, MemoryMB: 16}}},
		}},
	}
}

// register submits a job through a and records it as acknowledged.
func (c *cluster) register(a *nsAgent, job *structs.Job) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: job}); err != nil {
		return err
	}
	c.acked = append(c.acked, job.ID)
	return nil
}

// jobsOn lists the jobs a has locally (?stale: no forwarding).
func jobsOn(a *nsAgent) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	jobs, _, err := a.api().ListJobs(ctx, &api.QueryOptions{AllowStale: true})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	sort.Strings(ids)
	return ids, nil
}

// waitConverged waits until every server in among holds exactly the
// acknowledged jobs.
func (c *cluster) waitConverged(among []*nsAgent) {
	c.t.Helper()
	want := append([]string(nil), c.acked...)
	sort.Strings(want)
	waitFor(c.t, 60*time.Second, "every acknowledged job on "+names(among), func() (bool, string) {
		for _, s := range among {
			got, err := jobsOn(s)
			if err != nil {
				return false, fmt.Sprintf("%s: %v", s.name, err)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				return false, fmt.Sprintf("%s has %v, want %v", s.name, got, want)
			}
		}
		return true, ""
	})
}

// runningAllocs waits for the job's count allocations to run and returns
// them by ID.
func (c *cluster) runningAllocs(via *nsAgent, jobID string, count int) map[string]*structs.AllocListStub {
	c.t.Helper()
	out := map[string]*structs.AllocListStub{}
	waitFor(c.t, 60*time.Second, fmt.Sprintf("%d running allocations of %s", count, jobID), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		allocs, _, err := via.api().JobAllocations(ctx, jobID, nil)
		if err != nil {
			return false, err.Error()
		}
		clear(out)
		var states []string
		for _, a := range allocs {
			states = append(states, a.ClientStatus)
			if a.ClientStatus == structs.AllocClientStatusRunning {
				out[a.ID] = a
			}
		}
		return len(out) == count, fmt.Sprintf("allocation states %v", states)
	})
	return out
}

// TestClusterNetns: three servers and two clients, each in its own network
// namespace. The cluster forms from bootstrap_expect; a job submitted to a
// follower runs; the leader is SIGKILLed (no acknowledged job lost, new
// jobs run, running allocations untouched) and restarted (it catches up);
// the leader's link is cut (the majority elects a new leader and takes
// writes, the old one refuses them) and healed (it converges); and a
// snapshot of the cluster restores onto a fresh single server.
func TestClusterNetns(t *testing.T) {
	killLeftovers(t)
	c := startNsCluster(t)
	formed := time.Now()
	leader := c.waitLeader(c.servers, 60*time.Second)
	t.Logf("cluster formed; leader %s (%s after start)", leader.name, time.Since(formed).Round(time.Millisecond))
	waitFor(t, 60*time.Second, "both client nodes ready", func() (bool, string) { return nodesReady(leader.api(), 2) })

	// A job submitted to a follower runs.
	fol := except(c.servers, leader)[0]
	start := time.Now()
	if err := c.register(fol, sleepJob("web", 2)); err != nil {
		t.Fatalf("register through follower %s: %v", fol.name, err)
	}
	t.Logf("MEASURE write on a follower acknowledged in %s", time.Since(start).Round(time.Microsecond))
	webAllocs := c.runningAllocs(fol, "web", 2)

	rounds := chaosRounds(t)
	for round := 1; round <= rounds; round++ {
		t.Run(fmt.Sprintf("sigkill leader round %d", round), func(t *testing.T) {
			c.t = t
			leader := c.waitLeader(c.servers, 60*time.Second)
			survivors := except(c.servers, leader)
			for i := range 5 {
				if err := c.register(survivors[i%2], &structs.Job{ID: fmt.Sprintf("ack-r%d-%d", round, i), Type: structs.JobTypeBatch,
					Datacenters: []string{"nowhere"}, TaskGroups: sleepJob("x", 1).TaskGroups}); err != nil {
					t.Fatalf("register: %v", err)
				}
			}
			killed := time.Now()
			leader.kill()
			newLeader := c.waitLeader(survivors, 30*time.Second)
			elected := time.Since(killed)
			job := fmt.Sprintf("after-kill-%d", round)
			if err := c.register(survivors[0], sleepJob(job, 1)); err != nil {
				t.Fatalf("write after the leader was killed: %v", err)
			}
			t.Logf("MEASURE new leader %s elected %s after SIGKILL; first write acknowledged %s after SIGKILL",
				newLeader.name, elected.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
			c.waitConverged(survivors)
			c.runningAllocs(survivors[0], job, 1)
			// The allocations that ran before are the same ones, never restarted.
			now := c.runningAllocs(survivors[0], "web", 2)
			for id, before := range webAllocs {
				a, ok := now[id]
				if !ok {
					t.Errorf("allocation %s of web no longer runs after the failover", id)
					continue
				}
				for task, ts := range a.TaskStates {
					if ts.Restarts != 0 || !ts.StartedAt.Equal(before.TaskStates[task].StartedAt) {
						t.Errorf("allocation %s task %s restarted during the failover (restarts %d, started %s, was %s)",
							id, task, ts.Restarts, ts.StartedAt, before.TaskStates[task].StartedAt)
					}
				}
			}
			// The killed server restarts from its data dir and catches up.
			leader.start()
			c.waitConverged(c.servers)
			c.waitLeader(c.servers, 30*time.Second)
		})
		t.Run(fmt.Sprintf("partition leader round %d", round), func(t *testing.T) {
			c.t = t
			old := c.waitLeader(c.servers, 60*time.Second)
			majority := except(c.servers, old)
			old.host.cut()
			cut := time.Now()
			healed := false
			defer func() {
				if !healed {
					old.host.heal()
				}
			}()
			newLeader := c.waitLeader(majority, 30*time.Second)
			t.Logf("MEASURE majority elected %s %s after the leader's link was cut", newLeader.name, time.Since(cut).Round(time.Millisecond))
			job := fmt.Sprintf("during-partition-%d", round)
			if err := c.register(majority[0], sleepJob(job, 1)); err != nil {
				t.Fatalf("write to the majority during the partition: %v", err)
			}
			// The old leader steps down and refuses writes: no split brain.
			waitFor(t, 30*time.Second, "the cut-off leader to step down", func() (bool, string) {
				return c.leaderOf(old) != c.indexOf(old), "it still thinks it leads"
			})
			refused := fmt.Sprintf("refused-%d", round)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := old.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: sleepJob(refused, 1)})
			cancel()
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("write to the cut-off old leader: got %v, want a 503 refusal", err)
			}
			t.Logf("the cut-off server refused the write: %s", apiErr.Message)
			old.host.heal()
			healed = true
			c.waitConverged(c.servers)
			c.waitMembersAlive()
			c.waitLeader(c.servers, 60*time.Second)
			for _, s := range c.servers {
				if got, _ := jobsOn(s); strings.Contains(strings.Join(got, ","), refused) {
					t.Errorf("%s has the refused job %s", s.name, refused)
				}
			}
			c.runningAllocs(newLeader, job, 1)
		})
	}
	c.t = t

	t.Run("snapshot restores onto a fresh single server", func(t *testing.T) {
		dir := t.TempDir()
		snap := filepath.Join(dir, "backup.snap")
		via := c.servers[0]
		if out, code := via.cli("operator", "snapshot", "save", snap); code != 0 {
			t.Fatalf("snapshot save exited %d: %s", code, out)
		}
		out, code := via.cli("operator", "snapshot", "inspect", snap)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("Jobs         = %d", len(c.acked))) {
			t.Errorf("snapshot inspect exited %d, want it to count %d jobs:\n%s", code, len(c.acked), out)
		}
		if out, code := via.cli("server", "members"); code != 0 || strings.Count(out, "alive") != 3 {
			t.Errorf("server members exited %d, want 3 alive servers:\n%s", code, out)
		}
		if out, code := via.cli("operator", "raft", "list-peers"); code != 0 || strings.Count(out, "leader") != 1 || strings.Count(out, "follower") != 2 {
			t.Errorf("operator raft list-peers exited %d, want one leader and two followers:\n%s", code, out)
		}
		fresh := startAgent(t, agentOpts{})
		if out, code := fresh.cli(dir, "operator", "snapshot", "restore", snap); code != 0 {
			t.Fatalf("snapshot restore exited %d: %s", code, out)
		}
		ctx, cancel := ctx10s()
		defer cancel()
		jobs, _, err := fresh.api().ListJobs(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, j := range jobs {
			got = append(got, j.ID)
		}
		sort.Strings(got)
		want := append([]string(nil), c.acked...)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("jobs on the restored server: got %v, want %v", got, want)
		}
	})

	// Stop the jobs so their tasks end with the cluster.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range c.acked {
		if _, err := c.servers[0].api().DeregisterJob(ctx, id, true); err != nil {
			t.Logf("clean up: stop job %s: %v", id, err)
		}
	}
}

// waitMembersAlive waits until every server sees all three servers alive
// in the gossip pool.
func (c *cluster) waitMembersAlive() {
	c.t.Helper()
	waitFor(c.t, 60*time.Second, "every server to see three alive members", func() (bool, string) {
		for _, s := range c.servers {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			m, err := s.api().Members(ctx)
			cancel()
			if err != nil {
				return false, fmt.Sprintf("%s: %v", s.name, err)
			}
			alive := 0
			for _, mem := range m.Members {
				if mem.Status == "alive" {
					alive++
				}
			}
			if alive != 3 {
				return false, fmt.Sprintf("%s sees %d alive members", s.name, alive)
			}
		}
		return true, ""
	})
}

func (c *cluster) indexOf(a *nsAgent) int {
	for i, s := range c.servers {
		if s == a {
			return i
		}
	}
	return -1
}
