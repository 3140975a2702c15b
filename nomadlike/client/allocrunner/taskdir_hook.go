package allocrunner

import (
	"context"
	"fmt"
)

// taskDirHook builds <alloc>/<task>/{local,secrets,tmp}, with a tmpfs on
// secrets where the client may mount one (Linux, root).
type taskDirHook struct{}

func (taskDirHook) Name() string { return "task_dir" }

func (taskDirHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	dir, err := req.AllocDir.BuildTask(req.Task.Name)
	if err != nil {
		return fmt.Errorf("task dir hook: %w", err)
	}
	resp.TaskDir = dir
	mounted, why, err := req.AllocDir.MountSecrets(req.Task.Name)
	if err != nil {
		return fmt.Errorf("task dir hook: %w", err)
	}
	if !mounted {
		resp.Warnings = append(resp.Warnings, "the task's secrets dir is a plain directory on disk, not a tmpfs: "+why)
	}
	return nil
}
