package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The history check: concurrent writers register and update jobs through
// random servers while the leader is SIGKILLed and its link is cut and
// healed. Every write carries its sequence number in the job's meta, and
// every acknowledged write is recorded with the job modify index the
// cluster answered. Afterwards every acknowledged write must be a version
// of its job at exactly that index, and each job's history must only grow:
// versions in the order of its writes, and no server ever showing an older
// version than it showed before.

const (
	historyWriters      = 4
	historyWritesPerJob = 5 // fewer than state.JobTrackedVersions, so every version stays checkable
)

// historyWrite is one acknowledged write.
type historyWrite struct {
	job   string
	seq   int
	index uint64 // JobModifyIndex of the reply
}

// history collects what the writers did.
type history struct {
	mu        sync.Mutex
	acked     []historyWrite
	attempted map[string]int // job -> writes attempted (acknowledged or not)
	failed    int
	ackCount  atomic.Int64
}

// historyJob is version seq of a job: a batch job no node can run, so the
// writes exercise Raft rather than the clients.
func historyJob(id string, seq int) *structs.Job {
	j := sleepJob(id, 1)
	j.Type = structs.JobTypeBatch
	j.Datacenters = []string{"nowhere"}
	j.Meta = map[string]string{"seq": strconv.Itoa(seq)}
	return j
}

// writer registers job w-0 through historyWritesPerJob versions, then w-1,
// and so on, each write through a random server, until stop is closed.
func (h *history) writer(w int, servers []*nsAgent, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	for k := 0; ; k++ {
		id := fmt.Sprintf("hist-w%d-%d", w, k)
		for seq := 0; seq < historyWritesPerJob; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			via := servers[rng.IntN(len(servers))]
			h.mu.Lock()
			h.attempted[id] = seq + 1
			h.mu.Unlock()
			// Longer than a follower lets a forwarded write live (hold
			// 5s + 5s), so a write that fails here is never applied later.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			resp, err := via.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: historyJob(id, seq)})
			cancel()
			if err != nil {
				h.mu.Lock()
				h.failed++
				h.mu.Unlock()
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond): // back off after a failed write
				}
				continue
			}
			h.mu.Lock()
			h.acked = append(h.acked, historyWrite{job: id, seq: seq, index: resp.JobModifyIndex})
			h.mu.Unlock()
			h.ackCount.Add(1)
		}
	}
}

// waitAcks waits until n more writes are acknowledged.
func (h *history) waitAcks(t *testing.T, n int64, what string) {
	t.Helper()
	target := h.ackCount.Load() + n
	waitFor(t, 60*time.Second, fmt.Sprintf("%d more acknowledged writes %s", n, what), func() (bool, string) {
		got := h.ackCount.Load()
		return got >= target, fmt.Sprintf("%d of %d", got, target)
	})
}

// jobVersions reads the versions of a job on a server (?stale: its own
// state), newest first.
func jobVersions(s *nsAgent, id string) ([]*structs.Job, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, _, err := s.api().JobVersions(ctx, id, false, &api.QueryOptions{AllowStale: true})
	if err != nil {
		return nil, err
	}
	return resp.Versions, nil
}

// jobIndexes lists a server's jobs (?stale: its own state) with their job
// modify indexes.
func jobIndexes(s *nsAgent) (map[string]uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs, _, err := s.api().ListJobs(ctx, &api.QueryOptions{AllowStale: true})
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(jobs))
	for _, j := range jobs {
		out[j.ID] = j.JobModifyIndex
	}
	return out, nil
}

// regressions compares a server's jobs with what it held at earlier
// checkpoints (seen, keyed server/job) and records the new state when
// nothing went back.
func regressions(s *nsAgent, seen map[string]uint64) ([]string, error) {
	now, err := jobIndexes(s)
	if err != nil {
		return nil, err
	}
	var bad []string
	for key, prev := range seen {
		id, ok := strings.CutPrefix(key, s.name+"/")
		if !ok {
			continue
		}
		if cur, ok := now[id]; !ok || cur < prev {
			bad = append(bad, fmt.Sprintf("%s went back from job modify index %d to %d", key, prev, cur))
		}
	}
	sort.Strings(bad)
	if len(bad) == 0 {
		for id, idx := range now {
			seen[s.name+"/"+id] = idx
		}
	}
	return bad, nil
}

// checkpoint checks that no running server holds an older version of any
// job than it held at an earlier checkpoint: the history only grows. A
// server restarted since (recovering) may replay its log first, so it is
// given time to catch up; any other server must never go back.
func (h *history) checkpoint(t *testing.T, c *cluster, seen map[string]uint64, label string, recovering *nsAgent) {
	t.Helper()
	for _, s := range c.servers {
		if !s.running() {
			continue
		}
		if s == recovering {
			waitFor(t, 60*time.Second, label+": "+s.name+" to catch up with what it held before", func() (bool, string) {
				bad, err := regressions(s, seen)
				if err != nil {
					return false, err.Error()
				}
				return len(bad) == 0, strings.Join(bad, "; ")
			})
			continue
		}
		bad, err := regressions(s, seen)
		if err != nil {
			continue // unreachable right now: nothing to compare
		}
		if len(bad) > 0 {
			t.Errorf("%s: on %s the history went back:\n%s", label, s.name, strings.Join(bad, "\n"))
			for k := range seen {
				delete(seen, k) // report each regression once
			}
		}
	}
}

// verify checks the final histories on every server.
func (h *history) verify(t *testing.T, c *cluster) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	ackedBy := map[string][]historyWrite{}
	for _, w := range h.acked {
		ackedBy[w.job] = append(ackedBy[w.job], w)
	}
	var jobs []string
	for id := range h.attempted {
		jobs = append(jobs, id)
	}
	sort.Strings(jobs)
	// Acknowledged writes of one job were made one after another, so their
	// indexes must grow.
	for id, ws := range ackedBy {
		for i := 1; i < len(ws); i++ {
			if ws[i].index <= ws[i-1].index {
				t.Errorf("job %s: write %d was acknowledged at index %d, not after write %d at %d", id, ws[i].seq, ws[i].index, ws[i-1].seq, ws[i-1].index)
			}
		}
	}
	for _, s := range c.servers {
		for _, id := range jobs {
			vs, err := jobVersions(s, id)
			if err != nil && !api.IsNotFound(err) {
				t.Errorf("%s: versions of %s: %v", s.name, id, err)
				continue
			}
			bySeq := map[int]*structs.Job{}
			// Newest first: versions count down one by one, and both the
			// index and the writer's sequence number fall with them.
			for i, v := range vs {
				seq, err := strconv.Atoi(v.Meta["seq"])
				if err != nil {
					t.Errorf("%s: %s version %d has no seq meta: %v", s.name, id, v.Version, v.Meta)
					continue
				}
				bySeq[seq] = v
				if i == 0 {
					continue
				}
				newer := vs[i-1]
				newerSeq, _ := strconv.Atoi(newer.Meta["seq"])
				if newer.Version != v.Version+1 || newer.JobModifyIndex <= v.JobModifyIndex || newerSeq <= seq {
					t.Errorf("%s: %s history out of order: version %d (index %d, seq %s) follows version %d (index %d, seq %s)",
						s.name, id, newer.Version, newer.JobModifyIndex, newer.Meta["seq"], v.Version, v.JobModifyIndex, v.Meta["seq"])
				}
			}
			if n := len(vs); n > h.attempted[id] {
				t.Errorf("%s: %s has %d versions but only %d writes were made", s.name, id, n, h.attempted[id])
			}
			for _, w := range ackedBy[id] {
				v, ok := bySeq[w.seq]
				switch {
				case !ok:
					t.Errorf("%s: acknowledged write %d of %s (index %d) is missing; versions %s", s.name, w.seq, id, w.index, describeVersions(vs))
				case v.JobModifyIndex != w.index:
					t.Errorf("%s: acknowledged write %d of %s was answered with index %d but is version %d at index %d", s.name, w.seq, id, w.index, v.Version, v.JobModifyIndex)
				}
			}
		}
	}
}

func describeVersions(vs []*structs.Job) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("v%d@%d seq=%s", v.Version, v.JobModifyIndex, v.Meta["seq"]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// waitSameHistories waits until every server holds every job written at
// the same job modify index.
func (h *history) waitSameHistories(t *testing.T, c *cluster) {
	t.Helper()
	waitFor(t, 90*time.Second, "every server to hold the same job versions", func() (bool, string) {
		first, err := jobIndexes(c.servers[0])
		if err != nil {
			return false, err.Error()
		}
		for _, s := range c.servers[1:] {
			got, err := jobIndexes(s)
			if err != nil {
				return false, fmt.Sprintf("%s: %v", s.name, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(first) {
				return false, fmt.Sprintf("%s and %s differ", c.servers[0].name, s.name)
			}
		}
		return true, ""
	})
}

// TestClusterHistory runs the history check on three servers in network
// namespaces: chaosRounds rounds of (SIGKILL the leader, restart it; cut the
// leader's link, heal it) under concurrent writers.
func TestClusterHistory(t *testing.T) {
	killLeftovers(t)
	c := startNsClusterWith(t, 0, "")
	c.waitLeader(c.servers, 60*time.Second)
	h := &history{attempted: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range historyWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.writer(w, c.servers, stop)
		}()
	}
	stopped := false
	stopWriters := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopWriters()
	seen := map[string]uint64{}
	h.waitAcks(t, 20, "before any fault")
	h.checkpoint(t, c, seen, "before any fault", nil)

	for round := 1; round <= chaosRounds(t); round++ {
		leader := c.waitLeader(c.servers, 60*time.Second)
		leader.kill()
		killed := time.Now()
		c.waitLeader(except(c.servers, leader), 60*time.Second)
		h.waitAcks(t, 10, "after the leader was killed")
		t.Logf("round %d: %s SIGKILLed; writes acknowledged again %s later", round, leader.name, time.Since(killed).Round(time.Millisecond))
		h.checkpoint(t, c, seen, fmt.Sprintf("round %d, leader killed", round), nil)
		leader.start()
		c.waitLeader(c.servers, 60*time.Second)
		h.waitAcks(t, 10, "after the killed server came back")
		h.checkpoint(t, c, seen, fmt.Sprintf("round %d, killed server back", round), leader)

		old := c.waitLeader(c.servers, 60*time.Second)
		old.host.cut()
		cut := time.Now()
		c.waitLeader(except(c.servers, old), 60*time.Second)
		h.waitAcks(t, 10, "during the partition")
		t.Logf("round %d: %s cut off; writes acknowledged again %s later", round, old.name, time.Since(cut).Round(time.Millisecond))
		h.checkpoint(t, c, seen, fmt.Sprintf("round %d, partitioned", round), nil)
		old.host.heal()
		c.waitLeader(c.servers, 60*time.Second)
		h.waitAcks(t, 10, "after the partition healed")
		h.checkpoint(t, c, seen, fmt.Sprintf("round %d, healed", round), old)
	}
	stopWriters()
	c.waitLeader(c.servers, 60*time.Second)
	h.waitSameHistories(t, c)
	h.checkpoint(t, c, seen, "at the end", nil)
	h.verify(t, c)
	h.mu.Lock()
	t.Logf("history: %d writes acknowledged, %d failed or unanswered, %d jobs", len(h.acked), h.failed, len(h.attempted))
	h.mu.Unlock()
}
