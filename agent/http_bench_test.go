package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHTTPJobsList measures GET /v1/jobs over 100 jobs through the full
// middleware chain and router (no network).
func BenchmarkHTTPJobsList(b *testing.B) {
	fake := newFakeServer(b)
	for i := range 100 {
		j := testJob(fmt.Sprintf("job-%03d", i))
		j.Canonicalize()
		if err := fake.st.UpsertJob(fake.next(), j); err != nil {
			b.Fatal(err)
		}
	}
	h := NewHTTPServer(HTTPConfig{Server: fake, Logger: slog.New(slog.DiscardHandler)}).Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/jobs", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d", rec.Code)
		}
	}
}

// BenchmarkHTTPJobRegister measures PUT /v1/jobs decoding and dispatch to
// the (fake, Raft-less) server.
func BenchmarkHTTPJobRegister(b *testing.B) {
	fake := newFakeServer(b)
	h := NewHTTPServer(HTTPConfig{Server: fake, Logger: slog.New(slog.DiscardHandler)}).Handler()
	body := mustJSON(b, map[string]any{"Job": testJob("web")})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d: %s", rec.Code, rec.Body)
		}
	}
}
