package rawexec

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// StartTask starts the task under a supervisor and returns once it runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if !d.cfg.Enabled {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("start task %q: raw_exec driver is %s", cfg.ID, disabledHint)}
	}
	if err := d.tasks.Admit(cfg); err != nil {
		return nil, err
	}
	spec, err := d.spec(cfg)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		return nil, fmt.Errorf("start task %q (%s): %w", cfg.ID, spec.Command, err)
	}
	h, err := d.tasks.Add(cfg, client, taskData{})
	if err != nil {
		return nil, err
	}
	d.logger.Info("task started", "task", cfg.ID, "pid", client.PID(), "supervisor_pid", client.SupervisorPID())
	return h, nil
}

// spec builds the supervisor spec for cfg.
func (d *Driver) spec(cfg *drivers.TaskConfig) (*supervisor.Spec, error) {
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, err
	}
	env := supervised.Env(cfg.Env)
	command, err := resolveCommand(tc.Command, cfg.TaskDir, env["PATH"])
	if err != nil {
		return nil, err
	}
	cred, err := credential(cfg.User)
	if err != nil {
		return nil, err
	}
	spec, err := supervised.Spec(cfg, d.cfg.SupervisorLinger)
	if err != nil {
		return nil, err
	}
	spec.Command, spec.Args = command, tc.Args
	spec.Env, spec.Dir, spec.Credential = supervised.EnvList(env), cfg.TaskDir, cred
	if cfg.Network != nil {
		spec.NetNS = cfg.Network.Path // the group's own network (bridge, cni/<name>)
	}
	return spec, nil
}
