package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryAfter: 429 and 503 replies are retryable, the 429's Retry-After
// header is read; other errors are not.
func TestRetryAfter(t *testing.T) {
	codes := []int{http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadRequest}
	var cur atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		code := codes[cur.Load()]
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(code)
	}))
	defer ts.Close()
	c, err := NewClient(Config{Address: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	for i := range codes {
		cur.Store(int32(i))
		_, _, err := c.ListJobs(context.Background(), nil)
		after, retry := RetryAfter(err)
		switch codes[i] {
		case http.StatusTooManyRequests:
			if !retry || after != 3*time.Second {
				t.Errorf("429: RetryAfter = %s, %v; want 3s, true", after, retry)
			}
		case http.StatusServiceUnavailable:
			if !retry || after != 0 {
				t.Errorf("503: RetryAfter = %s, %v; want 0, true", after, retry)
			}
		default:
			if retry {
				t.Errorf("%d: retryable; want not", codes[i])
			}
		}
	}
	if _, retry := RetryAfter(errors.New("connection refused")); retry {
		t.Error("a network error is retryable as a busy server's reply; the caller's own backoff handles it")
	}
}
