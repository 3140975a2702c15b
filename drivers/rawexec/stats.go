package rawexec

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var (
	_ drivers.StatsDriver = (*Driver)(nil)
	_ drivers.ExecDriver  = (*Driver)(nil)
)

// TaskStats sums the memory (RSS) and CPU use of the task's process tree,
// read from /proc, with CPU rates over the interval since the last call.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*structs.TaskResourceUsage, error) {
	return d.tasks.TreeStats(ctx, taskID, "task")
}

// ExecTask runs a command on the host beside the task, as the task runs:
// with its environment, working directory and user.
func (d *Driver) ExecTask(ctx context.Context, taskID string, req *drivers.ExecRequest) (int, error) {
	t, err := d.tasks.Running(taskID, "exec")
	if err != nil {
		return -1, err
	}
	if len(req.Cmd) == 0 || req.Cmd[0] == "" {
		return -1, structs.NewBadRequest("exec in task %q: the command is empty; name a command such as /bin/sh", taskID)
	}
	env := supervised.Env(t.Config.Env)
	path, err := lookExec(req.Cmd[0], t.Config.TaskDir, env["PATH"])
	if err != nil {
		return -1, structs.NewBadRequest("exec in task %q: %v", taskID, err)
	}
	cred, err := credential(t.Config.User)
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: %w", taskID, err)
	}
	cmd := exec.Command(path, req.Cmd[1:]...)
	cmd.Args[0] = req.Cmd[0]
	cmd.Env = supervised.EnvList(env)
	cmd.Dir = t.Config.TaskDir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if cred != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: cred.UID, Gid: cred.GID, Groups: cred.Groups}
	}
	d.logger.Info("exec in task", "task", taskID, "command", req.Cmd, "tty", req.TTY)
	return supervisor.RunExec(ctx, cmd, req)
}

// lookExec finds an exec command: an absolute path, a path relative to the
// task dir, or a name searched in the task's PATH.
func lookExec(name, taskDir, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(taskDir, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("command %q: %w", name, err)
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q is not in the task's PATH (%s); give its absolute path", name, pathEnv)
}
