package allocrunner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// dispatchPayloadHook writes a dispatched job's payload into the task's
// local/<dispatch_payload.file> before each start. Jobs without a payload
// (not dispatched, or dispatched without input) write nothing. The write
// goes through an os.Root, so the file cannot land outside local/.
type dispatchPayloadHook struct{}

func (dispatchPayloadHook) Name() string { return "dispatch_payload" }

func (dispatchPayloadHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	dp := req.Task.DispatchPayload
	if dp == nil || req.Alloc.Job == nil || len(req.Alloc.Job.Payload) == 0 {
		return nil
	}
	task, err := os.OpenRoot(resp.TaskDir)
	if err != nil {
		return fmt.Errorf("open the task dir: %w", err)
	}
	defer task.Close()
	// local is opened inside the task dir: a task that replaced it with a
	// symlink out gets an error, not the symlink's target.
	root, err := task.OpenRoot("local")
	if err != nil {
		return &fatalSetupError{err: fmt.Errorf("open the task's local dir: %w", err)}
	}
	defer root.Close()
	if dir := filepath.Dir(dp.File); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return &fatalSetupError{err: fmt.Errorf("write the dispatch payload to local/%s: %w", dp.File, err)}
		}
	}
	if err := root.WriteFile(dp.File, req.Alloc.Job.Payload, 0o644); err != nil {
		return &fatalSetupError{err: fmt.Errorf("write the dispatch payload to local/%s: %w; the file must stay inside the task's local dir", dp.File, err)}
	}
	return nil
}
