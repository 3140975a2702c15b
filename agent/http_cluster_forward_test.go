package agent

import (
	"net/http/httptest"
	"testing"
	"time"
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
