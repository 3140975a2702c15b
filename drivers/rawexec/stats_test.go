package rawexec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestTaskStats checks that a busy task's process tree is measured: the
// shell and its busy child, with RSS and a positive CPU rate.
func TestTaskStats(t *testing.T) {
	d := quietDriver(t)
	cfg := shTask(t, "while :; do :; done & wait")
	start(t, d, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var u *structs.TaskResourceUsage
	deadline := time.Now().Add(testTimeout)
	for {
		var err error
		u, err = d.TaskStats(ctx, cfg.ID)
		if err != nil {
			t.Fatalf("TaskStats: %v", err)
		}
		if len(u.Pids) >= 2 && u.ResourceUsage.CpuStats.Percent > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TaskStats never saw the busy child: pids %d, CPU %.1f%%", len(u.Pids), u.ResourceUsage.CpuStats.Percent)
		}
	}
	ru := u.ResourceUsage
	if ru.MemoryStats.RSS == 0 {
		t.Errorf("RSS = 0, want the tree's resident memory")
	}
	if ru.CpuStats.Percent > 100*float64(runtimeCPUs())+5 {
		t.Errorf("CPU percent = %.1f, more than all cores", ru.CpuStats.Percent)
	}
	var sum uint64
	for _, p := range u.Pids {
		sum += p.MemoryStats.RSS
	}
	if sum != ru.MemoryStats.RSS {
		t.Errorf("total RSS %d != sum over pids %d", ru.MemoryStats.RSS, sum)
	}
}

func TestTaskStatsErrors(t *testing.T) {
	d := quietDriver(t)
	cfg := shTask(t, "exit 0")
	start(t, d, cfg)
	wait(t, d, cfg.ID)
	cases := []struct {
		name     string
		id       string
		wantCode int
	}{
		{"unknown task", "nope/web", 404},
		{"exited task", cfg.ID, 409},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := d.TaskStats(context.Background(), c.id)
			var coded *structs.CodedError
			if !errors.As(err, &coded) || coded.Code != c.wantCode {
				t.Fatalf("TaskStats(%q) = %v, want a %d", c.id, err, c.wantCode)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestExecTask(t *testing.T) {
	d := quietDriver(t)
	cfg := shTask(t, "sleep 600")
	cfg.Env["GREETING"] = "hello-from-task"
	start(t, d, cfg)
	cases := []struct {
		name       string
		cmd        []string
		tty        bool
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
		wantErr    string
	}{
		{name: "exit code and streams", cmd: []string{"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"}, wantCode: 3, wantStdout: "hi\n", wantStderr: "oops\n"},
		{name: "task env and dir", cmd: []string{"sh", "-c", "echo $GREETING; pwd"}, wantStdout: "hello-from-task\n" + cfg.TaskDir + "\n"},
		{name: "stdin", cmd: []string{"cat"}, stdin: "line one\nline two\n", wantStdout: "line one\nline two\n"},
		{name: "tty", cmd: []string{"sh", "-c", "test -t 0 && echo is-a-tty; exit 4"}, tty: true, wantCode: 4, wantStdout: "is-a-tty\r\n"},
		{name: "killed by signal", cmd: []string{"sh", "-c", "kill -9 $$"}, wantCode: 137},
		{name: "missing command", cmd: []string{"no-such-command-xyz"}, wantCode: -1, wantErr: "is not in the task's PATH"},
		{name: "empty command", cmd: []string{""}, wantCode: -1, wantErr: "the command is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var stdout, stderr syncBuffer
			code, err := d.ExecTask(ctx, cfg.ID, &drivers.ExecRequest{
				Cmd: c.cmd, TTY: c.tty, Stdin: strings.NewReader(c.stdin), Stdout: &stdout, Stderr: &stderr,
			})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("ExecTask error = %v, want one containing %q", err, c.wantErr)
				}
				var coded *structs.CodedError
				if !errors.As(err, &coded) || coded.Code != 400 {
					t.Errorf("ExecTask error %v is not a 400", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExecTask: %v", err)
			}
			if code != c.wantCode {
				t.Errorf("exit code = %d, want %d", code, c.wantCode)
			}
			if got := stdout.String(); got != c.wantStdout {
				t.Errorf("stdout = %q, want %q", got, c.wantStdout)
			}
			if got := stderr.String(); got != c.wantStderr {
				t.Errorf("stderr = %q, want %q", got, c.wantStderr)
			}
		})
	}
}

// TestExecTaskCancel checks that ending ctx kills a command that would run
// forever, stdin still open.
func TestExecTaskCancel(t *testing.T) {
	d := quietDriver(t)
	cfg := shTask(t, "sleep 600")
	start(t, d, cfg)
	for _, tty := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		out := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			_, err := d.ExecTask(ctx, cfg.ID, &drivers.ExecRequest{Cmd: []string{"sh", "-c", "echo started; sleep 600"}, TTY: tty, Stdin: pr, Stdout: out, Stderr: out})
			done <- err
		}()
		deadline := time.Now().Add(testTimeout)
		for !strings.Contains(out.String(), "started") {
			if time.Now().After(deadline) {
				t.Fatalf("tty=%v: the command never started", tty)
			}
			time.Sleep(10 * time.Millisecond) // polling interval of a condition wait
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("tty=%v: ExecTask = %v, want context.Canceled", tty, err)
			}
		case <-time.After(testTimeout):
			t.Fatalf("tty=%v: ExecTask did not return after its context ended", tty)
		}
		_ = pw.Close()
	}
}

func runtimeCPUs() int { return runtime.NumCPU() }

// quietDriver is newDriver without the test logger: the supervisor's reaper
// goroutine may log after the test ended (when a supervisor exits after
// DestroyTask returned), which the testing package turns into a panic.
func quietDriver(t *testing.T) *Driver {
	d := New(Config{Enabled: true}, nil)
	t.Cleanup(d.Close)
	return d
}
