package agent

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestEventStreamOfficialClient follows the stream with HashiCorp's client
// while a job registered through the API is placed and run: it must see the
// job's JobRegistered event and an AllocationUpdated event from the client,
// with payloads that decode into its types.
func TestEventStreamOfficialClient(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := c.EventStream().Stream(ctx, map[nomad.Topic][]string{
		nomad.TopicJob:        {"evjob"},
		nomad.TopicAllocation: {"evjob"},
	}, 0, nil)
	if err != nil {
		t.Fatalf("EventStream().Stream: %v", err)
	}

	job := nomad.NewBatchJob("evjob", "evjob", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "echo events"})
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}

	var sawJob, sawAlloc bool
	for !sawJob || !sawAlloc {
		var evs *nomad.Events
		select {
		case evs = <-stream:
		case <-ctx.Done():
			t.Fatalf("stream: JobRegistered seen %v, AllocationUpdated seen %v within 60s", sawJob, sawAlloc)
		}
		if evs == nil {
			t.Fatal("stream closed early")
		}
		if evs.Err != nil {
			t.Fatalf("stream error: %v", evs.Err)
		}
		for _, e := range evs.Events {
			if e.Index != evs.Index {
				t.Errorf("event index %d in a frame at %d", e.Index, evs.Index)
			}
			switch {
			case e.Topic == nomad.TopicJob && e.Type == "JobRegistered":
				j, err := e.Job()
				if err != nil || j == nil || *j.ID != "evjob" {
					t.Fatalf("JobRegistered payload: got %+v, %v", j, err)
				}
				sawJob = true
			case e.Topic == nomad.TopicAllocation && e.Type == "AllocationUpdated":
				al, err := e.Allocation()
				if err != nil || al == nil || al.JobID != "evjob" || al.ID != e.Key {
					t.Fatalf("AllocationUpdated payload: got %+v, %v", al, err)
				}
				sawAlloc = true
			case e.Topic != nomad.TopicJob && e.Topic != nomad.TopicAllocation:
				t.Errorf("got topic %s, subscribed to Job and Allocation only", e.Topic)
			}
		}
	}
}

// TestEventStreamBadInput: mistakes are 400s that say what to write.
func TestEventStreamBadInput(t *testing.T) {
	a := startDevAgent(t)
	tests := []struct{ query, want string }{
		{"topic=Jobs", "unknown topic \"Jobs\""},
		{"topic=Job:", "key after ':' is empty"},
		{"index=-1", "index=\"-1\" must be a non-negative integer"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/event/stream?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
				t.Errorf("got %d %q, want 400 containing %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestEventStreamFromFollower: a follower serves the stream from its own
// FSM: a job registered through the leader shows up on it.
func TestEventStreamFromFollower(t *testing.T) {
	servers := startCluster(t, 2, nil)
	leader := waitLeader(t, servers, 2)
	f := follower(servers, leader)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		got <- f.api(t).EventStream(ctx, map[structs.Topic][]string{structs.TopicJob: {"followed"}}, 0, nil,
			func(ev *structs.Events) error {
				for _, e := range ev.Events {
					if e.Type == structs.TypeJobRegistered && e.Payload.Job != nil && e.Payload.Job.ID == "followed" {
						return errFound
					}
				}
				return nil
			})
	}()
	if _, err := leader.api(t).RegisterJob(ctx, &structs.JobRegisterRequest{Job: clusterJob("followed")}); err != nil {
		t.Fatalf("register through the leader: %v", err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, errFound) {
			t.Fatalf("follower stream ended without the job's JobRegistered event: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no JobRegistered event from the follower within 30s")
	}
}

var errFound = errors.New("found")

// fakeFrames serves frames, then blocks until ctx ends or returns end.
type fakeFrames struct {
	frames []structs.Events
	end    error
}

func (f *fakeFrames) Next(ctx context.Context) (structs.Events, error) {
	if len(f.frames) > 0 {
		ev := f.frames[0]
		f.frames = f.frames[1:]
		return ev, nil
	}
	if f.end != nil {
		return structs.Events{}, f.end
	}
	<-ctx.Done()
	return structs.Events{}, ctx.Err()
}

// TestStreamEventsFraming: newline-delimited frames, "{}" heartbeats while
// idle, and a final error frame when the server ends the stream.
func TestStreamEventsFraming(t *testing.T) {
	t.Run("heartbeat", func(t *testing.T) {
		w := httptest.NewRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			streamEvents(ctx, &pipeRecorder{ResponseRecorder: w, pw: pw}, &fakeFrames{
				frames: []structs.Events{{Index: 4, Events: []structs.Event{{Topic: "Job", Key: "a", Index: 4}}}},
			}, 10*time.Millisecond)
		}()
		buf := make([]byte, 0, 256)
		tmp := make([]byte, 256)
		for strings.Count(string(buf), "{}\n") < 2 {
			n, err := pr.Read(tmp)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			buf = append(buf, tmp[:n]...)
		}
		cancel()
		_ = pr.Close()
		<-done
		if !strings.HasPrefix(string(buf), `{"Index":4,"Events":[{"Topic":"Job","Type":"","Key":"a"`) {
			t.Errorf("first frame: got %q", buf)
		}
		if w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type: got %q", w.Header().Get("Content-Type"))
		}
	})
	t.Run("error frame", func(t *testing.T) {
		w := httptest.NewRecorder()
		streamEvents(context.Background(), w, &fakeFrames{end: errors.New("fell behind; reconnect with index=9")}, time.Minute)
		if got, want := w.Body.String(), "{\"Error\":\"fell behind; reconnect with index=9\"}\n"; got != want {
			t.Errorf("body: got %q, want %q", got, want)
		}
	})
}

// pipeRecorder passes what is written to a pipe, for reading while the
// stream runs.
type pipeRecorder struct {
	*httptest.ResponseRecorder
	pw *io.PipeWriter
}

func (p *pipeRecorder) Write(b []byte) (int, error) { return p.pw.Write(b) }
