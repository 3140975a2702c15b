package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
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
	benchRegister(b, newFakeServer(b), mustJSON(b, map[string]any{"Job": testJob("web")}))
}

// benchRegister sends body to PUT /v1/jobs of an API on srv, b.N times.
func benchRegister(b *testing.B, srv ServerAPI, body string) {
	h := NewHTTPServer(HTTPConfig{Server: srv, Logger: slog.New(slog.DiscardHandler)}).Handler()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d: %s", rec.Code, rec.Body)
		}
	}
}

// benchRegisterJob is the job BenchmarkClusterRegister (e2e) registers: a
// service job of one group and one raw_exec task, as our api client sends
// it (every field of structs.Job in its JSON).
func benchRegisterJob(id string) *structs.Job {
	return &structs.Job{
		ID: id, Name: id, Type: structs.JobTypeService, Datacenters: []string{"nowhere"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 1,
			Tasks: []*structs.Task{{Name: "sleep", Driver: "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"3600"}},
				Env:       map[string]string{"E2E_RUN": "bench"},
				Resources: &structs.Resources{CPU: 20, MemoryMB: 16}}},
		}},
	}
}

// acceptingServer answers every registration at once without storing it:
// a benchmark of the HTTP layer measures the HTTP layer only.
type acceptingServer struct{ *fakeServer }

func (acceptingServer) RegisterJob(context.Context, *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	return &structs.JobRegisterResponse{EvalID: "00000000-0000-0000-0000-000000000000", JobModifyIndex: 1, Index: 1}, nil
}

// BenchmarkHTTPJobRegisterService measures PUT /v1/jobs of the cluster
// benchmark's job through the whole chain (middleware, router, admission,
// decode with Nomad's defaults) to the fake server.
func BenchmarkHTTPJobRegisterService(b *testing.B) {
	benchRegister(b, &acceptingServer{newFakeServer(b)}, mustJSON(b, &structs.JobRegisterRequest{Job: benchRegisterJob("web")}))
}

// BenchmarkHTTPJobRegisterLeader measures PUT /v1/jobs of the cluster
// benchmark's job on a leader, as a cluster's leader serves it: the whole
// middleware chain, the router, the server's Forward (request ID), the
// handler, the server's RegisterJob with an in-memory Raft of one server
// and its FSM, and the reply. The eval broker is paused, so no scheduler
// works alongside. Each iteration registers a new job.
func BenchmarkHTTPJobRegisterLeader(b *testing.B) {
	srv, err := server.NewServer(server.Config{NodeName: "bench", NumSchedulers: 1, BootstrapExpect: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitForLeader(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.SetSchedulerConfig(ctx, &structs.SchedulerConfig{PauseEvalBroker: true}, false, 0); err != nil {
		b.Fatal(err)
	}
	h := NewHTTPServer(HTTPConfig{Server: srv, Cluster: srv, Agent: DevConfig(), Logger: slog.New(slog.DiscardHandler)}).Handler()
	const bodies = 1 << 12
	body := make([][]byte, bodies)
	for i := range body {
		body[i] = []byte(mustJSON(b, &structs.JobRegisterRequest{Job: benchRegisterJob(fmt.Sprintf("bench-%06d", i))}))
	}
	b.SetBytes(int64(len(body[0])))
	b.ReportAllocs()
	i := 0
	start := processCPU(b)
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPut, "/v1/jobs", bytes.NewReader(body[i%bodies]))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("got %d: %s", rec.Code, rec.Body)
		}
		i++
	}
	// The process's CPU, every goroutine's (Raft's and the FSM's too),
	// per registration: wall time waits for Raft's goroutines.
	b.ReportMetric(float64(processCPU(b)-start)/float64(i), "cpu-ns/op")
}

// processCPU is the user and system CPU time of the process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
