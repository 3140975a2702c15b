package rawexec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestFingerprint(t *testing.T) {
	cases := []struct {
		name        string
		enabled     bool
		wantHealthy bool
		wantDesc    string
		wantAttrs   map[string]string
	}{
		{"enabled", true, true, "Healthy", map[string]string{"driver.raw_exec": "1"}},
		{"disabled", false, false, disabledHint, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info := New(Config{Enabled: c.enabled}, nil).Fingerprint(context.Background())
			if !info.Detected {
				t.Errorf("Detected = false, want true")
			}
			if info.Healthy != c.wantHealthy {
				t.Errorf("Healthy = %v, want %v", info.Healthy, c.wantHealthy)
			}
			if info.HealthDescription != c.wantDesc {
				t.Errorf("HealthDescription = %q, want %q", info.HealthDescription, c.wantDesc)
			}
			if diff := cmp.Diff(c.wantAttrs, info.Attributes); diff != "" {
				t.Errorf("Attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     map[string]any
		wantErr string
	}{
		{"ok", map[string]any{"command": "/bin/true", "args": []any{"a", "b"}}, ""},
		{"ok string slice", map[string]any{"command": "true", "args": []string{"a"}}, ""},
		{"ok nomad modes", map[string]any{"command": "true", "pid_mode": "host", "ipc_mode": "private"}, ""},
		{"missing command", map[string]any{}, "config.command: required"},
		{"empty command", map[string]any{"command": " "}, "config.command: required"},
		{"command not string", map[string]any{"command": 3}, "config.command: must be a string"},
		{"args not list", map[string]any{"command": "x", "args": "a b"}, "config.args: must be a list of strings"},
		{"args with number", map[string]any{"command": "x", "args": []any{"a", 1}}, "config.args: must be a list of strings"},
		{"bad pid_mode", map[string]any{"command": "x", "pid_mode": "weird"}, "config.pid_mode"},
		{"unknown key", map[string]any{"command": "x", "comand": "y"}, "config.comand: unknown key"},
	}
	d := New(Config{Enabled: true}, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := d.ValidateConfig(c.cfg)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateConfig = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("ValidateConfig = %v, want error containing %q", err, c.wantErr)
			}
			var ve *structs.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("error %T is not a *structs.ValidationError", err)
			}
		})
	}
}

func TestResolveCommand(t *testing.T) {
	taskDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(taskDir, "local", "run.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noexec := filepath.Join(taskDir, "data.txt")
	if err := os.WriteFile(noexec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, command, path string
		want, wantErr       string
	}{
		{"absolute", "/bin/sh", "", "/bin/sh", ""},
		{"task local first", "run.sh", "/bin", script, ""},
		{"relative path", "local/run.sh", "", script, ""},
		{"from PATH", "sh", "/nonexistent:/bin", "/bin/sh", ""},
		{"missing", "no-such-cmd", "/bin:/usr/bin", "", `config.command "no-such-cmd" not found: looked in ` + filepath.Join(taskDir, "local")},
		{"missing names PATH", "no-such-cmd", "/bin:/usr/bin", "", `PATH="/bin:/usr/bin"`},
		{"not executable", "data.txt", "", "", "not executable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolveCommand(c.command, taskDir, c.path)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("resolveCommand(%q) error = %v, want it to contain %q", c.command, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("resolveCommand(%q) = %q, %v; want %q", c.command, got, err, c.want)
			}
		})
	}
}

func TestExitResults(t *testing.T) {
	cases := []struct {
		name   string
		script string
		want   drivers.ExitResult
	}{
		{"exit 0", "exit 0", drivers.ExitResult{ExitCode: 0}},
		{"exit 3", "exit 3", drivers.ExitResult{ExitCode: 3}},
		{"killed by SIGKILL", "kill -KILL $$", drivers.ExitResult{ExitCode: 128 + 9, Signal: 9}},
		{"killed by SIGTERM", "kill -TERM $$", drivers.ExitResult{ExitCode: 128 + 15, Signal: 15}},
	}
	d := newDriver(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := shTask(t, c.script)
			start(t, d, cfg)
			got := wait(t, d, cfg.ID)
			if diff := cmp.Diff(c.want, *got, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
				t.Errorf("exit result (-want +got):\n%s", diff)
			}
			st, err := d.InspectTask(cfg.ID)
			if err != nil {
				t.Fatalf("InspectTask: %v", err)
			}
			if st.State != drivers.TaskStateExited || st.PID == 0 || st.CompletedAt.IsZero() {
				t.Errorf("InspectTask = state %q pid %d completed %v; want exited with a pid and a completion time", st.State, st.PID, st.CompletedAt)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		d := New(Config{Enabled: false}, nil)
		_, err := d.StartTask(context.Background(), shTask(t, "true"))
		var ce *structs.CodedError
		if !errors.As(err, &ce) || ce.Code != http.StatusBadRequest || !strings.Contains(err.Error(), `plugin "raw_exec" { config { enabled = true } }`) {
			t.Fatalf("StartTask on disabled driver = %v, want a 400 naming the enable hint", err)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		d := newDriver(t)
		cfg := drivertest.TaskConfig(t, "web", map[string]any{"command": "definitely-not-installed"})
		_, err := d.StartTask(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), `"definitely-not-installed" not found`) || !strings.Contains(err.Error(), "PATH=") {
			t.Fatalf("StartTask = %v, want an error naming the command and PATH", err)
		}
	})
	t.Run("missing user", func(t *testing.T) {
		d := newDriver(t)
		cfg := shTask(t, "true")
		cfg.User = "no-such-user-xyz"
		_, err := d.StartTask(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), `"no-such-user-xyz"`) {
			t.Fatalf("StartTask = %v, want an error naming the user", err)
		}
	})
	t.Run("unknown task", func(t *testing.T) {
		d := newDriver(t)
		_, err := d.InspectTask("nope")
		if !errors.Is(err, drivers.ErrTaskNotFound) {
			t.Fatalf("InspectTask(nope) = %v, want ErrTaskNotFound", err)
		}
	})
}

func TestRunsAsUser(t *testing.T) {
	drivertest.RequireRoot(t)
	d := newDriver(t)
	cfg := shTask(t, `id -u > "$NOMAD_TASK_DIR/uid"`)
	cfg.User = "nobody"
	// nobody must reach its task dir: open up the temp dirs above it.
	for dir := filepath.Join(cfg.TaskDir, "local"); dir != "/" && dir != os.TempDir(); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("task as nobody: %+v", res)
	}
	got := strings.TrimSpace(drivertest.WaitForFileContains(t, filepath.Join(cfg.TaskDir, "local", "uid"), "\n"))
	if got != "65534" {
		t.Errorf("task ran as uid %s, want 65534 (nobody)", got)
	}
}

func TestStdoutStderrAndEnv(t *testing.T) {
	d := newDriver(t)
	cfg := shTask(t, `echo "out $GREETING"; echo "err in $(pwd)" >&2`)
	cfg.Env["GREETING"] = "hello"
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("task failed: %+v", res)
	}
	for _, c := range []struct{ file, want string }{
		{cfg.StdoutBase + ".0", "out hello\n"},
		{cfg.StderrBase + ".0", "err in " + cfg.TaskDir + "\n"},
	} {
		b, err := os.ReadFile(filepath.Join(cfg.LogDir, c.file))
		if err != nil {
			t.Fatalf("read log: %v", err)
		}
		if string(b) != c.want {
			t.Errorf("%s = %q, want %q", c.file, b, c.want)
		}
	}
}

func TestLogRotation(t *testing.T) {
	d := newDriver(t)
	// 3.5 MB with 1 MB files, 2 kept: files .0-.3 written, .2 and .3 remain.
	cfg := shTask(t, `head -c 3670016 /dev/zero`)
	cfg.LogMaxFiles, cfg.LogMaxFileMB = 2, 1
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("task failed: %+v", res)
	}
	sizes := map[string]int64{}
	entries, err := os.ReadDir(cfg.LogDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), cfg.StdoutBase) {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			sizes[e.Name()] = fi.Size()
		}
	}
	want := map[string]int64{cfg.StdoutBase + ".2": 1 << 20, cfg.StdoutBase + ".3": 3670016 - 3<<20}
	if diff := cmp.Diff(want, sizes); diff != "" {
		t.Errorf("stdout log files (-want +got):\n%s", diff)
	}
}

func TestSignalTask(t *testing.T) {
	d := newDriver(t)
	cfg := shTask(t, `trap 'echo got-hup; exit 7' HUP; echo ready; while :; do sleep 0.05; done`)
	start(t, d, cfg)
	drivertest.WaitForFileContains(t, filepath.Join(cfg.LogDir, cfg.StdoutBase+".0"), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := d.SignalTask(ctx, cfg.ID, "SIGHUP"); err != nil {
		t.Fatalf("SignalTask: %v", err)
	}
	if res := wait(t, d, cfg.ID); res.ExitCode != 7 {
		t.Errorf("exit code after SIGHUP = %d, want 7", res.ExitCode)
	}
	if err := d.SignalTask(ctx, cfg.ID, "SIGNOPE"); err == nil || !strings.Contains(err.Error(), "SIGNOPE") {
		t.Errorf("SignalTask(SIGNOPE) = %v, want an error naming the signal", err)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	d := newDriver(t)
	cfg := shTask(t, `trap '' TERM; echo ready; while :; do sleep 0.05; done`)
	start(t, d, cfg)
	drivertest.WaitForFileContains(t, filepath.Join(cfg.LogDir, cfg.StdoutBase+".0"), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	begin := time.Now()
	if err := d.StopTask(ctx, cfg.ID, 300*time.Millisecond, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Errorf("StopTask returned after %v, before the 300ms timeout", took)
	}
	res := wait(t, d, cfg.ID)
	if res.Signal != int(syscall.SIGKILL) {
		t.Errorf("signal = %d, want SIGKILL (%d): the TERM-ignoring task must be killed", res.Signal, syscall.SIGKILL)
	}
}

func TestStopKillsProcessTree(t *testing.T) {
	d := newDriver(t)
	script := `sleep 300 & echo $! > "$NOMAD_TASK_DIR/child"; ` +
		`setsid sh -c 'echo $$ > "$NOMAD_TASK_DIR/escapee"; exec sleep 301' & ` +
		`sh -c 'sleep 302 & echo $! > "$NOMAD_TASK_DIR/orphan"' ; wait`
	cfg := shTask(t, script)
	h := start(t, d, cfg)
	local := filepath.Join(cfg.TaskDir, "local")
	pids := map[string]int{
		"main":    0,
		"child":   drivertest.ReadPID(t, filepath.Join(local, "child")),
		"escapee": drivertest.ReadPID(t, filepath.Join(local, "escapee")),
		"orphan":  drivertest.ReadPID(t, filepath.Join(local, "orphan")),
	}
	st, err := d.InspectTask(cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	pids["main"] = st.PID
	var sdState struct{ SupervisorPID int }
	if err := jsonUnmarshal(h.DriverState, &sdState); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if drivertest.ProcessGone(pid) {
			t.Fatalf("%s (pid %d) is not running before stop", name, pid)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := d.StopTask(ctx, cfg.ID, 2*time.Second, ""); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	for name, pid := range pids {
		if !drivertest.ProcessGone(pid) {
			t.Errorf("%s (pid %d) survived StopTask", name, pid)
		}
	}
	drivertest.WaitFor(t, drivertest.DefaultWait, func() (bool, string) {
		return drivertest.ProcessGone(sdState.SupervisorPID), fmt.Sprintf("supervisor pid %d still running after the task stopped", sdState.SupervisorPID)
	})
}
