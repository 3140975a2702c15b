package agent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatAgentMonitorOfficialClient subscribes with the official
// client at debug, registers a job and waits for the agent's debug line
// about that request; bad parameters are 400s naming the parameter.
func TestCompatAgentMonitorOfficialClient(t *testing.T) {
	a := startDevAgentWith(t, nil)
	cl := aclClient(t, a.HTTPAddr(), "")
	stop := make(chan struct{})
	defer close(stop)
	frames, errCh := cl.Agent().Monitor(stop, &nomad.QueryOptions{Params: map[string]string{"log_level": "debug"}})
	if frames == nil {
		t.Fatalf("Agent().Monitor: %v", <-errCh)
	}

	job := nomad.NewBatchJob("monitor-job", "monitor-job", "global", 50)
	job.Datacenters = []string{"dc1"}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c", "echo ok"})))
	if _, _, err := cl.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	var got bytes.Buffer
	deadline := time.After(30 * time.Second)
	for !strings.Contains(got.String(), "path=/v1/jobs ") {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("monitor stream ended: %v; got:\n%s", <-errCh, got.String())
			}
			got.Write(f.Data)
		case <-deadline:
			t.Fatalf("no debug line for PUT /v1/jobs within 30s; got:\n%s", got.String())
		}
	}
	if !strings.Contains(got.String(), "level=DEBUG") {
		t.Fatalf("want debug lines, got:\n%s", got.String())
	}

	// plain=true is raw text; log_json=true makes JSON lines.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.HTTPAddr()+"/v1/agent/monitor?log_level=debug&plain=true&log_json=true", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("plain monitor: %v %v", resp, err)
	}
	defer resp.Body.Close()
	if _, err := cl.Agent().Self(); err != nil {
		t.Fatalf("Agent().Self: %v", err)
	}
	buf := make([]byte, 4096)
	var plain []byte
	for !bytes.Contains(plain, []byte(`"path":"/v1/agent/self"`)) {
		n, err := resp.Body.Read(buf)
		plain = append(plain, buf[:n]...)
		if err != nil {
			t.Fatalf("plain json monitor: %v; got:\n%s", err, plain)
		}
	}

	for _, bad := range []struct{ query, want string }{
		{"log_level=loud", "log_level"},
		{"log_json=maybe", "log_json"},
		{"node_id=a&server_id=b", "node_id and server_id"},
	} {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/monitor?" + bad.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), bad.want) {
			t.Fatalf("%s: got %d %q, want 400 naming %s", bad.query, resp.StatusCode, body, bad.want)
		}
	}
}

// TestAgentMonitorACL: with ACLs on, anonymous is refused (agent:read).
func TestAgentMonitorACL(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.ACL.Enabled = true })
	anon := aclClient(t, a.HTTPAddr(), "")
	_, errCh := anon.Agent().Monitor(nil, nil)
	wantStatus(t, "anonymous monitor", <-errCh, http.StatusForbidden)

	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("ACLTokens().Bootstrap: %v", err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if frames, errCh := aclClient(t, a.HTTPAddr(), boot.SecretID).Agent().Monitor(stop, nil); frames == nil {
		t.Fatalf("management monitor: %v", <-errCh)
	}
}

// TestLogTeeSlowSubscriber: a subscriber that never reads does not slow
// logging; it loses lines and is told how many. A subscriber at debug
// sees debug records that the agent's own (info) handler does not print.
func TestLogTeeSlowSubscriber(t *testing.T) {
	var own bytes.Buffer
	hub := newLogHub()
	log := slog.New(hub.wrap(slog.NewTextHandler(&own, &slog.HandlerOptions{Level: slog.LevelInfo}))).With("component", "test")
	sub, cancel := hub.subscribe(slog.LevelDebug, false)
	defer cancel()

	const lines = 5 * monitorBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range lines {
			log.Debug("tick", "i", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("logging blocked on a subscriber that does not read")
	}
	if own.Len() != 0 {
		t.Fatalf("the info handler printed debug lines: %q", own.String())
	}
	first := <-sub.ch
	if !strings.Contains(string(first), "level=DEBUG msg=tick component=test i=0") {
		t.Fatalf("first line = %q", first)
	}
	if note := string(sub.droppedNote()); note != "[2048 lines dropped]\n" {
		t.Fatalf("dropped note = %q", note)
	}
	cancel()
	log.Debug("after")
	if log.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatal("debug still enabled after the last subscriber left")
	}
}
