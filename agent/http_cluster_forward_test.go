package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestForwardExpired(t *testing.T) {
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                string
		forwarded, deadline string
		want                bool
	}{
		{name: "not forwarded", want: false},
		{name: "forwarded by an older server without a deadline", forwarded: "1", want: false},
		{name: "in time", forwarded: "1", deadline: now.Add(time.Second).Format(time.RFC3339Nano), want: false},
		{name: "late", forwarded: "1", deadline: now.Add(-time.Millisecond).Format(time.RFC3339Nano), want: true},
		{name: "deadline without the forwarded mark", deadline: now.Add(-time.Hour).Format(time.RFC3339Nano), want: false},
		{name: "unparsable deadline", forwarded: "1", deadline: "soon", want: false},
	} {
		r := httptest.NewRequest("PUT", "/v1/jobs", nil)
		if tc.forwarded != "" {
			r.Header.Set(leaderForwardedHeader, tc.forwarded)
		}
		if tc.deadline != "" {
			r.Header.Set(forwardDeadlineHeader, tc.deadline)
		}
		if got := forwardExpired(r, now); got != tc.want {
			t.Errorf("%s: forwardExpired = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLeaderRefusesExpiredForward: a write forwarded by a follower that
// reaches the leader after its deadline is refused with a 503 and not
// applied; one in time is applied.
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
		req.Header.Set(forwardDeadlineHeader, deadline.UTC().Format(time.RFC3339Nano))
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
