package supervised

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// Nomad's defaults for settings a TaskConfig leaves zero.
const (
	defaultLogMaxFiles  = 10
	defaultLogMaxFileMB = 10
	defaultKillTimeout  = 5 * time.Second
)

// Spec returns the supervisor spec for cfg with what every driver sets the
// same way: the task ID, the log files and their rotation, the kill signal
// and timeout, the state dir and linger (see supervisor.Spec.Linger). The
// caller sets the command line, environment, working dir, credential and
// workload.
func Spec(cfg *drivers.TaskConfig, linger time.Duration) (*supervisor.Spec, error) {
	killSig, err := drivers.SignalOrDefault(cfg.KillSignal, syscall.SIGTERM)
	if err != nil {
		return nil, fmt.Errorf("kill_signal: %w", err)
	}
	spec := &supervisor.Spec{
		TaskID:          cfg.ID,
		LogDir:          cfg.LogDir,
		StdoutBase:      orDefault(cfg.StdoutBase, cfg.Name+".stdout"),
		StderrBase:      orDefault(cfg.StderrBase, cfg.Name+".stderr"),
		LogMaxFiles:     positiveOr(cfg.LogMaxFiles, defaultLogMaxFiles),
		LogMaxFileBytes: int64(positiveOr(cfg.LogMaxFileMB, defaultLogMaxFileMB)) << 20,
		KillTimeout:     cfg.KillTimeout,
		KillSignal:      killSig,
		StateDir:        cfg.StateDir,
		Linger:          linger,
	}
	if spec.KillTimeout <= 0 {
		spec.KillTimeout = defaultKillTimeout
	}
	if spec.LogDir == "" {
		spec.LogDir = filepath.Join(cfg.AllocDir, "alloc", "logs")
	}
	if cfg.AllocDir != "" && within(cfg.AllocDir, spec.LogDir) {
		spec.LogRoot = cfg.AllocDir // the task can write in alloc/logs
	}
	return spec, nil
}

// Env returns a copy of the task's environment with the agent's PATH when
// the task sets none.
func Env(env map[string]string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	if _, ok := out["PATH"]; !ok {
		out["PATH"] = os.Getenv("PATH")
	}
	return out
}

// EnvList returns env as sorted KEY=value strings.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// within reports whether p is below dir.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, "../")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func positiveOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
