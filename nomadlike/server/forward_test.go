package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestForwardBorrowsCopyBuffers: forwarding a request with a small answer
// copies it through a pooled buffer. httputil.ReverseProxy without a
// BufferPool allocated 32 KB for every forwarded request (on a follower
// forwarding registrations, a tenth of all it allocated).
func TestForwardBorrowsCopyBuffers(t *testing.T) {
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(leaderReceivedHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"EvalID":"e","Index":7}`)
	}))
	defer leader.Close()
	addr := strings.TrimPrefix(leader.URL, "http://")
	s := &Server{}
	via := Forwarding{Transport: leader.Client().Transport}
	forward := func() {
		r := httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader(`{"Job":{}}`))
		w := &wroteWriter{ResponseWriter: httptest.NewRecorder()}
		if err := s.forwardOnce(w, r, addr, via, time.Now(), true); err != nil || !w.wrote {
			t.Fatalf("forward: %v (wrote %v)", err, w.wrote)
		}
	}
	for range 20 {
		forward() // connections, the clock probe, pools
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		forward()
	}
	runtime.ReadMemStats(&after)
	// Client, server and proxy together allocate ~10 KB per request here;
	// one unpooled copy buffer alone is 32 KB.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 24<<10 {
		t.Errorf("a forward allocated %d bytes, want under 24 KiB (is the copy buffer pooled?)", per)
	}
}
