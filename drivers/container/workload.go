package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/mountinfo"
	"github.com/moby/sys/user"
	// Registers the device-rules half of the cgroup managers.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// workloadKind is the supervisor workload kind of container tasks.
const workloadKind = "container"

func init() {
	supervisor.RegisterWorkload(workloadKind, newWorkload)
}

// containerWorkload runs one libcontainer container inside the task's
// supervisor process (see doc.go).
type containerWorkload struct {
	cfg workloadConfig
	log *slog.Logger
	c   *libcontainer.Container
}

func newWorkload(spec *supervisor.Spec, log *slog.Logger) (supervisor.Workload, error) {
	var cfg workloadConfig
	if err := json.Unmarshal(spec.WorkloadConfig, &cfg); err != nil {
		return nil, fmt.Errorf("decode container workload config: %w", err)
	}
	if cfg.Spec == nil || cfg.ContainerID == "" || cfg.Rootfs == "" {
		return nil, errors.New("container workload config lacks the spec, container id or rootfs")
	}
	return &containerWorkload{cfg: cfg, log: log}, nil
}

// Start mounts the task's overlay root filesystem, creates the container
// and starts its init process.
func (w *containerWorkload) Start(stdout, stderr *os.File) (pid int, err error) {
	cfg := &w.cfg
	began := time.Now()
	for _, warning := range cfg.Warnings {
		fmt.Fprintf(stderr, "nomadlike: warning: %s\n", warning)
	}
	// A task restart gets a fresh container and writable layer, as Docker's.
	cleanupContainer(cfg, w.log)
	if err := mountOverlay(cfg.LowerDirs, cfg.UpperDir, cfg.WorkDir, cfg.Rootfs); err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			cleanupContainer(cfg, w.log)
		}
	}()
	u, err := resolveUser(cfg.Rootfs, cfg.User)
	if err != nil {
		return 0, err
	}
	cwd, err := securejoin.SecureJoin(cfg.Rootfs, cfg.Spec.Process.Cwd)
	if err != nil {
		return 0, fmt.Errorf("working dir %q: %w", cfg.Spec.Process.Cwd, err)
	}
	if !cfg.Spec.Root.Readonly {
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return 0, fmt.Errorf("create working dir %q in the container: %w", cfg.Spec.Process.Cwd, err)
		}
	}
	// The volume sources in the allocation dir are resolved here, at mount
	// time, and staged until Run has returned: see stageVolumes.
	spec, unstage, err := stageVolumes(cfg.Spec, cfg.Volumes, cfg.VolumeStage)
	if err != nil {
		return 0, err
	}
	defer unstage()
	lc, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: cfg.ContainerID, Spec: spec})
	if err != nil {
		return 0, fmt.Errorf("container config: %w", err)
	}
	prepared := time.Now()
	c, err := libcontainer.Create(cfg.StateRoot, cfg.ContainerID, lc)
	if err != nil {
		return 0, fmt.Errorf("create container %s: %w", cfg.ContainerID, err)
	}
	w.c = c
	p := &libcontainer.Process{
		Args:             cfg.Spec.Process.Args,
		Env:              cfg.Spec.Process.Env,
		Cwd:              cfg.Spec.Process.Cwd,
		UID:              u.Uid,
		GID:              u.Gid,
		AdditionalGroups: u.Sgids,
		Stdout:           stdout,
		Stderr:           stderr,
		Init:             true,
	}
	created := time.Now()
	if err := c.Run(p); err != nil {
		return 0, fmt.Errorf("start container %s running %q: %w%s", cfg.ContainerID, strings.Join(cfg.Spec.Process.Args, " "), err, runHint(err, cfg.MemoryLimitMB))
	}
	pid, err = p.Pid()
	if err != nil {
		return 0, fmt.Errorf("container %s init pid: %w", cfg.ContainerID, err)
	}
	// Until init execs the task, it is libcontainer's Go code, which would
	// turn an early stop signal into a confusing exit status 2.
	ran := time.Now()
	if err := waitExec(pid, execWait); err != nil {
		w.log.Warn("container init did not exec the task in time", "pid", pid, "error", err)
	}
	w.log.Info("container started", "container", cfg.ContainerID, "pid", pid, "uid", u.Uid, "args", cfg.Spec.Process.Args,
		"rootfs_and_config", prepared.Sub(began), "create", created.Sub(prepared), "run", ran.Sub(created), "exec_wait", time.Since(ran))
	return pid, nil
}

// runHint says what to change when the container could not start for a
// reason the job controls: a memory limit below what starting needs, or a
// command the image lacks.
func runHint(err error, memoryMB int64) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "memory limit") || strings.Contains(msg, "oom"):
		return fmt.Sprintf(" (the memory limit of %d MB, resources.memory, is too small for the container to start; raise it)", memoryMB)
	case strings.Contains(msg, "exec: ") && strings.Contains(msg, "no such file or directory"):
		return " (the command is not in the image: check config.command, config.entrypoint and the image's PATH)"
	}
	return ""
}

// execWait bounds how long Start waits for the container's init to exec.
const execWait = 10 * time.Second

// waitExec waits until pid no longer runs as "<argv0> init" (it exec'd the
// task) or is gone.
func waitExec(pid int, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	path := "/proc/" + strconv.Itoa(pid) + "/cmdline"
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // gone: the supervisor reaps it and records the exit
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 2 || args[0] != os.Args[0] || args[1] != "init" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still libcontainer's init after %v", bound)
		}
		time.Sleep(time.Millisecond)
	}
}

// Signal sends sig to the container's init (PID 1 inside): the kernel
// delivers it only if init handles it, SIGKILL always.
func (w *containerWorkload) Signal(sig syscall.Signal) error {
	if w.c == nil {
		return errors.New("container not started")
	}
	return w.c.Signal(sig)
}

// Kill kills the container's init, and with it its PID namespace.
func (w *containerWorkload) Kill() error {
	return w.Signal(unix.SIGKILL)
}

// Finish detects an OOM kill, then destroys the container (its cgroups and
// state) and unmounts and removes its root filesystem.
func (w *containerWorkload) Finish(res *supervisor.Result) string {
	var note string
	if w.c != nil {
		if n := w.oomKills(); n > 0 {
			res.OOMKilled = true
			note = fmt.Sprintf("nomadlike: the container was killed by the kernel's OOM killer: it used more than its memory limit of %d MB (resources.memory); raise the limit or reduce its memory use", w.cfg.MemoryLimitMB)
			if w.cfg.MemoryLimitMB == 0 {
				note = "nomadlike: the container was killed by the kernel's OOM killer: the host ran out of memory (resources.memory_max = -1 sets no limit of its own); give it a memory_max or reduce its memory use"
			}
		}
	}
	cleanupContainer(&w.cfg, w.log)
	return note
}

// oomKills reads the OOM kill count of the container's memory cgroup.
func (w *containerWorkload) oomKills() int {
	st, err := w.c.State()
	if err != nil {
		w.log.Warn("read container state for OOM detection", "error", err)
		return 0
	}
	candidates := []string{}
	if p := st.CgroupPaths["memory"]; p != "" {
		candidates = append(candidates, filepath.Join(p, "memory.oom_control"))
	}
	if p := st.CgroupPaths[""]; p != "" {
		candidates = append(candidates, filepath.Join(p, "memory.events"))
	}
	for _, f := range candidates {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
	}
	return 0
}

// cleanupContainer removes what a run of the container left: the
// libcontainer container, the overlay mount and the writable layer. It is
// idempotent, and safe when nothing exists.
func cleanupContainer(cfg *workloadConfig, log *slog.Logger) {
	if c, err := libcontainer.Load(cfg.StateRoot, cfg.ContainerID); err == nil {
		_ = c.Signal(unix.SIGKILL)
		if err := c.Destroy(); err != nil {
			log.Warn("destroy container", "container", cfg.ContainerID, "error", err)
		}
	} else if !errors.Is(err, libcontainer.ErrNotExist) {
		log.Warn("load container for clean-up", "container", cfg.ContainerID, "error", err)
		_ = os.RemoveAll(filepath.Join(cfg.StateRoot, cfg.ContainerID))
	}
	if cfg.VolumeStage != "" {
		unstageAll(cfg.VolumeStage)
	}
	if err := unmountOverlay(cfg.Rootfs); err != nil {
		log.Warn("unmount container root filesystem", "path", cfg.Rootfs, "error", err)
	}
	for _, d := range []string{cfg.UpperDir, cfg.WorkDir} {
		if err := os.RemoveAll(d); err != nil {
			log.Warn("remove container writable layer", "path", d, "error", err)
		}
	}
}

// mountOverlay mounts lower (topmost first) with a fresh upper and work dir
// at target.
func mountOverlay(lower []string, upper, work, target string) error {
	if len(lower) == 0 {
		return errors.New("overlay: the image has no layers")
	}
	for _, d := range []string{upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("overlay: %w", err)
		}
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(opts) >= unix.Getpagesize() {
		return fmt.Errorf("overlay: the image has too many layers (%d) for one mount's options; flatten the image", len(lower))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay root filesystem at %s: %w (the client needs root and overlayfs on a filesystem that supports it as an upper dir)", target, err)
	}
	return nil
}

// unmountOverlay unmounts target if it is a mount point.
func unmountOverlay(target string) error {
	mounted, err := mountinfo.Mounted(target)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	if !mounted {
		return nil
	}
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}

// resolveUser resolves a user spec ("", "name", "uid", "name:group",
// "uid:gid") against the container's /etc/passwd and /etc/group.
func resolveUser(rootfs, spec string) (*user.ExecUser, error) {
	passwd, err := securejoin.SecureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	group, err := securejoin.SecureJoin(rootfs, "/etc/group")
	if err != nil {
		return nil, err
	}
	u, err := user.GetExecUserPath(spec, &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w; use a user that exists in the image's /etc/passwd, or a numeric uid[:gid]", spec, err)
	}
	return u, nil
}
