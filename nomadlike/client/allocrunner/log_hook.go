package allocrunner

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// logHook ensures the log dir exists and sets the task's log file names and
// rotation limits (<task>.stdout.N in alloc/logs).
type logHook struct{}

func (logHook) Name() string { return "logs" }

func (logHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	resp.LogDir = req.AllocDir.LogDir()
	// Made inside the alloc dir: a task may have replaced alloc/logs with
	// a symlink (the supervisor refuses it too).
	root, err := req.AllocDir.OpenRoot()
	if err != nil {
		return fmt.Errorf("log hook: %w", err)
	}
	defer root.Close()
	if err := root.MkdirAll("alloc/logs", 0o755); err != nil {
		return fmt.Errorf("log hook: create alloc/logs: %w", err)
	}
	resp.StdoutBase = req.Task.Name + ".stdout"
	resp.StderrBase = req.Task.Name + ".stderr"
	lc := req.Task.LogConfig
	if lc == nil {
		lc = structs.DefaultLogConfig()
	}
	resp.LogMaxFiles, resp.LogMaxFileMB = lc.MaxFiles, lc.MaxFileSizeMB
	return nil
}
