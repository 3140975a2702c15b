package allocrunner

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/client/taskenv"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// PrestartRequest is what a task's prestart hooks see. Hooks read it and
// fill PrestartResponse; they never reach into the task runner.
type PrestartRequest struct {
	Alloc    *structs.Allocation
	Task     *structs.Task
	Node     *structs.Node
	Region   string
	AllocDir *allocdir.AllocDir
	Driver   drivers.Driver
}

// PrestartResponse accumulates what the hooks produce; later hooks see what
// earlier ones set.
type PrestartResponse struct {
	TaskDir string
	Env     *taskenv.Env
	// Config is the task's driver config with ${...} interpolated.
	Config map[string]any
	// Unresolved lists ${...} references the env hook could not resolve.
	Unresolved                []string
	LogDir                    string
	StdoutBase                string
	StderrBase                string
	LogMaxFiles, LogMaxFileMB int
	// Mounts are the task's host volume mounts (volume_hook.go).
	Mounts []*drivers.MountConfig
	// Warnings are logged by the task runner (e.g. secrets not on a tmpfs).
	Warnings []string
	// IdentityToken is the task's default workload identity (identity_hook.go),
	// with which its templates read variables; "" without servers.
	IdentityToken string
}

// prestartHook runs before each start of a task (first start and restarts).
type prestartHook interface {
	Name() string
	Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error
}

// validationError marks a hook error as the user's config being invalid:
// the task fails with a "Failed Validation" event and is not restarted.
type validationError struct{ err error }

func (e *validationError) Error() string { return e.err.Error() }
func (e *validationError) Unwrap() error { return e.err }

// defaultHooks are the task prestart hooks, in order.
func defaultHooks(art ArtifactConfig, sd ServiceDiscovery, taskAPI http.Handler) []prestartHook {
	return []prestartHook{taskDirHook{}, envHook{}, validateHook{}, newIdentityHook(sd), newTaskAPIHook(taskAPI), volumeHook{}, newArtifactHook(art), dispatchPayloadHook{}, newTemplateHook(), logHook{}}
}
