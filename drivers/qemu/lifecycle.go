package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// powerdownTimeout bounds the QMP exchange that asks for an ACPI power-down.
const powerdownTimeout = 5 * time.Second

// StartTask checks the task's files and policies, then starts QEMU under a
// supervisor and returns once it runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if err := d.tasks.Admit(cfg); err != nil {
		return nil, err
	}
	spec, data, err := d.spec(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if err := os.Remove(data.QMPSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("start task %q: remove the old QMP socket: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		return nil, fmt.Errorf("start task %q (%s): %w", cfg.ID, spec.Command, err)
	}
	h, err := d.tasks.Add(cfg, client, data)
	if err != nil {
		return nil, err
	}
	d.logger.Info("VM started", "task", cfg.ID, "pid", client.PID(), "supervisor_pid", client.SupervisorPID(), "args", spec.Args)
	return h, nil
}

// spec builds the supervisor spec for cfg: every check that can fail does
// so here, before anything runs, with an error naming the key and the fix.
func (d *Driver) spec(ctx context.Context, cfg *drivers.TaskConfig) (*supervisor.Spec, taskData, error) {
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, taskData{}, err
	}
	fp := d.fingerprint(ctx)
	if fp.Problem != "" {
		return nil, taskData{}, errors.New("the qemu driver is unhealthy on this node: " + fp.Problem)
	}
	v, err := d.buildVM(ctx, cfg, tc, fp)
	if err != nil {
		return nil, taskData{}, err
	}
	spec, err := supervised.Spec(cfg, d.cfg.SupervisorLinger)
	if err != nil {
		return nil, taskData{}, err
	}
	spec.Command, spec.Args = fp.Emulator, v.args()
	spec.Env, spec.Dir = supervised.EnvList(supervised.Env(cfg.Env)), cfg.TaskDir
	return spec, taskData{QMPSocket: filepath.Join(cfg.TaskDir, qmpSocketName), Graceful: tc.GracefulShutdown}, nil
}

// buildVM applies the node's policies to the task config: accelerator,
// allowed args, allowed paths, resources and port forwards.
func (d *Driver) buildVM(ctx context.Context, cfg *drivers.TaskConfig, tc *taskConfig, fp *fingerprint) (*vm, error) {
	if cfg.TaskDir == "" {
		return nil, errors.New("TaskConfig.TaskDir is empty; the client must give each task a task dir")
	}
	if err := checkUser(cfg.User); err != nil {
		return nil, err
	}
	v := &vm{Name: guestName(cfg.JobName, cfg.Name), Accel: tc.Accelerator, DriveInterface: tc.DriveInterface, KernelArgs: tc.KernelArgs}
	if v.Accel == "" {
		v.Accel = fp.defaultAccel()
	}
	if v.Accel == accelKVM && !fp.KVM {
		return nil, fmt.Errorf(`config.accelerator = "kvm" but KVM is not usable on this node (%s); use accelerator = "tcg", remove the key to let the node choose, or constrain the job to nodes where ${attr.driver.qemu.kvm} is "true"`, fp.KVMProblem)
	}
	if err := checkArgs(tc.Args, d.cfg.ArgsAllowlist); err != nil {
		return nil, err
	}
	if v.Accel == accelKVM && fp.Nested {
		if err := d.kvmBoots(ctx, fp.Emulator); err != nil {
			return nil, fmt.Errorf(`config.accelerator = "kvm" but KVM does not boot a guest on this node: %v; this node is itself a VM and its nested KVM does not work: use accelerator = "tcg", or remove the key to let the node choose`, err)
		}
	}
	v.ExtraArgs = tc.Args
	pp := pathPolicy{TaskDir: cfg.TaskDir, ImagePaths: d.cfg.ImagePaths}
	var err error
	for _, f := range []struct {
		key, val string
		dst      *string
	}{{"image_path", tc.ImagePath, &v.Image}, {"kernel", tc.Kernel, &v.Kernel}, {"initrd", tc.Initrd, &v.Initrd}} {
		if f.val == "" {
			continue
		}
		if *f.dst, err = pp.resolve(f.key, f.val); err != nil {
			return nil, err
		}
	}
	if v.Image != "" {
		if v.ImageFormat, err = imageFormat(v.Image); err != nil {
			return nil, fmt.Errorf("config.image_path %q: %w", tc.ImagePath, err)
		}
	}
	if v.MemoryMB, err = memoryMB(cfg.Resources); err != nil {
		return nil, err
	}
	v.CPUs = vCPUs(cfg.Resources)
	if v.Forwards, err = forwards(tc.PortMap, cfg.Ports); err != nil {
		return nil, err
	}
	return v, nil
}

// beforeStop is the driver's supervised.Kind.BeforeStop: with
// graceful_shutdown it asks the guest to power down (ACPI, over QMP) and
// waits up to timeout, then has the VM killed; otherwise it lets StopTask
// send signal (on SIGTERM QEMU stops the VM at once), wait, then kill.
func (d *Driver) beforeStop(ctx context.Context, t *task, sig syscall.Signal, timeout time.Duration) (syscall.Signal, time.Duration, bool) {
	if t.Data.Graceful && sig != syscall.SIGKILL && timeout > 0 {
		if d.gracefulStop(ctx, t, timeout) {
			return sig, timeout, true
		}
		return syscall.SIGKILL, 0, false
	}
	return sig, timeout, false
}

// gracefulStop sends an ACPI power-down over QMP and waits up to timeout
// for the VM to exit. It reports whether the VM is gone.
func (d *Driver) gracefulStop(ctx context.Context, t *task, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if err := powerdown(ctx, t.Data.QMPSocket); err != nil {
		d.logger.Warn("graceful shutdown: could not ask the guest to power down; killing the VM", "task", t.ID, "error", err)
		return false
	}
	d.logger.Info("graceful shutdown: sent ACPI power-down", "task", t.ID, "timeout", timeout)
	select {
	case <-t.Exited():
		return true
	case <-ctx.Done():
		return false
	case <-deadline.C:
		d.logger.Warn("graceful shutdown: the guest did not power down within kill_timeout; killing the VM", "task", t.ID, "timeout", timeout)
		return false
	}
}

// powerdown asks the guest behind the QMP socket to power down.
func powerdown(ctx context.Context, socket string) error {
	if socket == "" {
		return errors.New("the task has no QMP socket")
	}
	ctx, cancel := context.WithTimeout(ctx, powerdownTimeout)
	defer cancel()
	c, err := dialQMP(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.execute(ctx, "system_powerdown", nil); err != nil {
		return err
	}
	return nil
}

// removeFiles is the driver's supervised.Kind.Cleanup: it removes a
// destroyed VM's supervisor files and QMP socket.
func removeFiles(t *task) error {
	if err := supervised.RemoveFiles(append([]string{t.Data.QMPSocket}, supervised.SupervisorFiles(t.StateDir)...)...); err != nil {
		return fmt.Errorf("remove its files: %w", err)
	}
	return nil
}
