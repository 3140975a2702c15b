package allocrunner

import (
	"context"

	"github.com/nomadlike/nomadlike/nomadlike/client/taskenv"
)

// envHook builds the task's environment and interpolates its driver config.
type envHook struct{}

func (envHook) Name() string { return "env" }

func (envHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	resp.Env = taskenv.Build(taskenv.Input{
		Node: req.Node, Alloc: req.Alloc, Task: req.Task,
		AllocDir: req.AllocDir.Dir, TaskDir: resp.TaskDir, Region: req.Region,
	})
	resp.Config, resp.Unresolved = resp.Env.ReplaceConfigUnresolved(req.Task.Config)
	if resp.Config == nil {
		resp.Config = map[string]any{}
	}
	return nil
}
