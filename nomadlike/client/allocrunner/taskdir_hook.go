package allocrunner

import (
	"context"
	"fmt"
)

// taskDirHook builds <alloc>/<task>/{local,secrets,tmp}.
type taskDirHook struct{}

func (taskDirHook) Name() string { return "task_dir" }

func (taskDirHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	dir, err := req.AllocDir.BuildTask(req.Task.Name)
	if err != nil {
		return fmt.Errorf("task dir hook: %w", err)
	}
	resp.TaskDir = dir
	return nil
}
