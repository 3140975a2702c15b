package client

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// TestRetryInHonoursRetryAfter: a busy server's 429 makes the next attempt
// wait at least its Retry-After (bounded by maxRetry); other failures back
// off as before; jitter never shortens a wait.
func TestRetryInHonoursRetryAfter(t *testing.T) {
	busy := &api.Error{StatusCode: http.StatusTooManyRequests, RetryAfter: 2 * time.Second}
	noLeader := &api.Error{StatusCode: http.StatusServiceUnavailable}
	for _, c := range []struct {
		name string
		prev time.Duration
		err  error
		want time.Duration
	}{
		{"429 first failure", 0, busy, 2 * time.Second},
		{"429 after a longer backoff", 4 * time.Second, busy, 8 * time.Second},
		{"429 with a huge Retry-After", 0, &api.Error{StatusCode: http.StatusTooManyRequests, RetryAfter: time.Hour}, maxRetry},
		{"503", 0, noLeader, minRetry},
		{"network error", time.Second, errors.New("connection refused"), 2 * time.Second},
	} {
		if got := retryIn(c.prev, c.err); got != c.want {
			t.Errorf("%s: retryIn(%s) = %s, want %s", c.name, c.prev, got, c.want)
		}
	}
	for range 100 {
		if j := jittered(time.Second); j < time.Second || j > 1500*time.Millisecond {
			t.Fatalf("jittered(1s) = %s, want within [1s, 1.5s]", j)
		}
	}
}
