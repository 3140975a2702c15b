package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// StartTask prepares the task's image, then starts its container under a
// supervisor and returns once the container's process runs.
func (d *Driver) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if reason := d.unhealthy(); reason != "" {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("start task %q: the container driver cannot run tasks here: %s", cfg.ID, reason)}
	}
	if err := d.tasks.Admit(cfg); err != nil {
		return nil, err
	}
	if d.cfg.CacheDir == "" {
		return nil, fmt.Errorf("start task %q: the container driver has no image cache dir; the agent must set Config.CacheDir", cfg.ID)
	}
	tc, err := parseConfig(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if err := checkPorts(tc.Ports, cfg.Ports); err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if tc.NetworkMode == "bridge" && cfg.Network == nil {
		return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf(
			"start task %q: config.network_mode = \"bridge\" needs the group's bridge network: add network { mode = \"bridge\" } to the group (tasks share the group's network), or remove network_mode to use the host's", cfg.ID)}
	}
	if tc.Image, err = allowLocalImage(tc.Image, d.cfg.ImagePaths); err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	began := time.Now()
	rec, err := d.images.Acquire(ctx, tc.Image, cfg.ID, tc.ForcePull)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	return d.start(ctx, cfg, tc, rec, nil, began)
}

// start starts the task's container from the prepared image rec, with
// extra read-only binds (the exec driver's chroot) under the task's own
// mounts. began is when StartTask began (for the log).
func (d *Driver) start(ctx context.Context, cfg *drivers.TaskConfig, tc *taskConfig, rec *imageRecord, binds []specs.Mount, began time.Time) (*drivers.TaskHandle, error) {
	imageReady := time.Since(began)
	wl, spec, err := d.spec(cfg, tc, rec, binds)
	if err != nil {
		d.releaseImage(cfg.ID)
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	client, err := supervisor.Start(ctx, d.cfg.SupervisorPath, spec, d.logger)
	if err != nil {
		d.releaseImage(cfg.ID)
		return nil, fmt.Errorf("start task %q (image %s): %w", cfg.ID, imageName(tc, rec), err)
	}
	h, err := d.tasks.Add(cfg, client, taskData{Workload: wl})
	if err != nil {
		return nil, err
	}
	h.Warnings = wl.Warnings
	for _, w := range wl.Warnings {
		d.logger.Warn(w, "task", cfg.ID)
	}
	d.logger.Info("task started", "task", cfg.ID, "image", imageName(tc, rec), "pid", client.PID(),
		"supervisor_pid", client.SupervisorPID(), "image_ready", imageReady, "total", time.Since(began))
	return h, nil
}

// checkPorts checks that every label in config.ports is allocated.
func checkPorts(labels []string, ports []structs.PortMapping) error {
	var have []string
	for _, p := range ports {
		have = append(have, p.Label)
	}
	for _, l := range labels {
		if !slices.Contains(have, l) {
			if len(have) == 0 {
				return fmt.Errorf("config.ports: port %q is not allocated: the group has no network ports; add network { port %q {} } to the group", l, l)
			}
			return fmt.Errorf("config.ports: port %q is not allocated (the group's ports: %s); add it to the group's network block", l, strings.Join(have, ", "))
		}
	}
	return nil
}

// spec builds the container workload and the supervisor spec for cfg.
func (d *Driver) spec(cfg *drivers.TaskConfig, tc *taskConfig, rec *imageRecord, binds []specs.Mount) (workloadConfig, *supervisor.Spec, error) {
	caps, err := capabilities(tc, d.cfg.AllowCaps)
	if err != nil {
		return workloadConfig{}, nil, err
	}
	wl := workloadConfig{
		ContainerID: containerID(cfg.ID),
		StateRoot:   filepath.Join(cfg.StateDir, "libcontainer"),
		LowerDirs:   d.images.lowerDirs(rec),
		UpperDir:    filepath.Join(cfg.StateDir, "upper"),
		WorkDir:     filepath.Join(cfg.StateDir, "work"),
		Rootfs:      filepath.Join(cfg.StateDir, "rootfs"),
		VolumeStage: filepath.Join(cfg.StateDir, "volumes"),
		User:        firstNonEmpty(tc.User, cfg.User, rec.Config.User),
	}
	if r := cfg.Resources; r != nil {
		wl.MemoryLimitMB = max(r.Memory.MemoryMB, r.Memory.MemoryMaxMB)
		if r.Memory.MemoryMaxMB == structs.MemoryNoLimit {
			wl.MemoryLimitMB = 0 // no cgroup limit: an OOM kill is the host's
		}
	}
	wl.Spec, wl.Volumes, err = buildSpec(specInput{
		Task: cfg, TC: tc, Image: rec, Rootfs: wl.Rootfs, Caps: caps, Volumes: d.cfg.VolumesEnabled, Binds: binds,
		PidsLimit: d.cfg.PidsLimit, Seccomp: seccomp.Enabled, CPUMHz: cpuMHz(), SwapFile: swapFile(),
	})
	if err != nil {
		return workloadConfig{}, nil, err
	}
	if !seccomp.Enabled {
		wl.Warnings = append(wl.Warnings, noSeccompWarning)
	}
	raw, err := json.Marshal(wl)
	if err != nil {
		return workloadConfig{}, nil, fmt.Errorf("encode container workload: %w", err)
	}
	spec, err := supervised.Spec(cfg, d.cfg.SupervisorLinger)
	if err != nil {
		return workloadConfig{}, nil, err
	}
	spec.Command, spec.Args = wl.Spec.Process.Args[0], wl.Spec.Process.Args[1:]
	spec.Workload, spec.WorkloadConfig = workloadKind, raw
	return wl, spec, nil
}

// releaseImage drops the task's image lease and collects garbage.
func (d *Driver) releaseImage(taskID string) {
	if err := d.images.Release(taskID); err != nil {
		d.logger.Warn("release image", "task", taskID, "error", err)
	}
	if d.cfg.ImageGC {
		d.gc()
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// cleanup is the driver's supervised.Kind.Cleanup: it removes a destroyed
// task's container (the supervisor cleans up after its container; this
// covers one that died without doing so), its supervisor files and overlay
// dirs, and releases its image.
func (d *Driver) cleanup(t *task) error {
	var errs []error
	if t.Data.Workload.ContainerID != "" {
		cleanupContainer(&t.Data.Workload, d.logger)
	}
	for _, f := range []string{supervisor.SpecFile, supervisor.StatusFile, supervisor.LogFile, supervisor.SocketFile, "libcontainer", "rootfs", "upper", "work"} {
		if err := os.RemoveAll(filepath.Join(t.StateDir, f)); err != nil {
			errs = append(errs, err)
		}
	}
	d.releaseImage(t.ID)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove supervisor files: %w", err)
	}
	return nil
}

// imageName names the task's image in messages: the exec driver's root is
// its chroot_env, not an image.
func imageName(tc *taskConfig, rec *imageRecord) string {
	if rec.ID == execImageID {
		return "chroot_env"
	}
	return tc.Image.String()
}
