package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestLeaderRefusesExpiredForward: a write forwarded by a follower that
// reaches the leader after its deadline (on the leader's clock) is refused
// with a 503 and not applied; one in time is applied.
func TestLeaderRefusesExpiredForward(t *testing.T) {
	a := startDevAgent(t)
	put := func(id string, deadline time.Time) int {
		t.Helper()
		body, err := json.Marshal(&structs.JobRegisterRequest{Job: clusterJob(id)})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/jobs", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(leaderForwardedHeader, "1")
		req.Header.Set(server.ForwardDeadlineHeader, strconv.FormatInt(deadline.UnixNano(), 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put("late", time.Now().Add(-time.Second)); code != http.StatusServiceUnavailable {
		t.Errorf("late forwarded write: status %d, want 503", code)
	}
	if code := put("in-time", time.Now().Add(time.Minute)); code != http.StatusOK {
		t.Errorf("forwarded write in time: status %d, want 200", code)
	}
	c, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if ids := jobIDs(t, c, nil); len(ids) != 1 || ids[0] != "in-time" {
		t.Errorf("jobs after the two forwarded writes: %v, want only in-time", ids)
	}
}

// TestForwardWithSkewedClocks: writes and default reads through followers
// whose clocks are 30 s ahead of and 30 s behind the leader's are applied
// (no server assumes the clocks agree; the follower measures the leader's).
// With the wall-clock deadline a follower stamped from its own clock, the
// follower 30 s behind had every forwarded write refused as late.
func TestForwardWithSkewedClocks(t *testing.T) {
	skew := map[string]time.Duration{"srv1": 30 * time.Second, "srv2": -30 * time.Second, "srv3": 0}
	servers := startCluster(t, 3, func(c *Config) {
		d := skew[c.Name]
		c.Server.clock = func() time.Time { return time.Now().Add(d) }
	})
	leader := waitLeader(t, servers, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, s := range servers {
		if s == leader {
			continue
		}
		for i := 0; i < 3; i++ {
			id := fmt.Sprintf("skew-%s-%d", s.name, i)
			if _, err := s.api(t).RegisterJob(ctx, &structs.JobRegisterRequest{Job: clusterJob(id)}); err != nil {
				t.Fatalf("write %s through %s (clock %+v off): %v", id, s.name, skew[s.name], err)
			}
		}
		if ids := jobIDs(t, s.api(t), nil); len(ids) == 0 {
			t.Errorf("default read through %s: no jobs", s.name)
		}
	}
}
