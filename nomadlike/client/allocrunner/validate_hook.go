package allocrunner

import (
	"context"
	"fmt"
)

// validateHook asks the driver to check the interpolated config; an error
// fails the task with a "Failed Validation" event naming the key.
type validateHook struct{}

func (validateHook) Name() string { return "validate" }

func (validateHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if err := req.Driver.ValidateConfig(resp.Config); err != nil {
		return &validationError{err: fmt.Errorf("task %q: invalid %s driver config: %w", req.Task.Name, req.Task.Driver, err)}
	}
	return nil
}
