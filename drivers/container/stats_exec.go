package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/containerd/console"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var (
	_ drivers.StatsDriver = (*Driver)(nil)
	_ drivers.ExecDriver  = (*Driver)(nil)
)

// Measured fields of container stats, as Nomad's docker driver names them.
var (
	measuredMemory = []string{"RSS", "Cache", "Swap", "Usage", "Max Usage", "Kernel Usage", "Kernel Max Usage"}
	measuredCPU    = []string{"System Mode", "User Mode", "Throttled Periods", "Throttled Time", "Percent"}
)

// consoleWait bounds how long an exec with a TTY waits for the container's
// process to send its terminal.
const consoleWait = 10 * time.Second

// load returns the running task and its libcontainer container, loaded from
// the state the task's supervisor keeps (the agent reads it; the
// supervisor owns the container).
func (d *Driver) load(taskID, doing string) (*task, *libcontainer.Container, error) {
	t, err := d.tasks.Running(taskID, doing)
	if err != nil {
		return nil, nil, err
	}
	c, err := libcontainer.Load(t.Data.Workload.StateRoot, t.Data.Workload.ContainerID)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil, nil, structs.NewConflict("%s: task %q has no running container (it is starting or has just exited)", doing, taskID)
		}
		return nil, nil, fmt.Errorf("%s: load container %s of task %q: %w", doing, t.Data.Workload.ContainerID, taskID, err)
	}
	return t, c, nil
}

// TaskStats reads the container's cgroup: memory (usage, max usage, RSS,
// cache, swap, kernel) and CPU (usage, throttling), with CPU rates over the
// interval since the last call.
func (d *Driver) TaskStats(ctx context.Context, taskID string) (*structs.TaskResourceUsage, error) {
	t, c, err := d.load(taskID, "resource usage")
	if err != nil {
		return nil, err
	}
	var last *cgroups.Stats
	read := func() (map[string]supervisor.CPUTimes, error) {
		st, err := c.Stats()
		if err != nil {
			return nil, fmt.Errorf("read cgroup stats of task %q: %w", taskID, err)
		}
		if st.CgroupStats == nil {
			return nil, fmt.Errorf("read cgroup stats of task %q: libcontainer returned none", taskID)
		}
		last = st.CgroupStats
		u := last.CpuStats.CpuUsage
		return map[string]supervisor.CPUTimes{"total": {
			User: time.Duration(u.UsageInUsermode), System: time.Duration(u.UsageInKernelmode), Total: time.Duration(u.TotalUsage),
		}}, nil
	}
	rates, err := t.Usage.SampleRates(ctx, "total", read)
	if err != nil {
		return nil, err
	}
	cpu := supervisor.CPUStats(rates["total"], measuredCPU...)
	cpu.ThrottledPeriods = last.CpuStats.ThrottlingData.ThrottledPeriods
	cpu.ThrottledTime = last.CpuStats.ThrottlingData.ThrottledTime
	return &structs.TaskResourceUsage{
		Timestamp:     time.Now().UnixNano(),
		ResourceUsage: &structs.ResourceUsage{MemoryStats: memoryStats(&last.MemoryStats), CpuStats: cpu},
	}, nil
}

// memoryStats converts cgroup memory stats (v1 or v2 names) to Nomad's.
func memoryStats(m *cgroups.MemoryStats) *structs.MemoryStats {
	first := func(keys ...string) uint64 {
		for _, k := range keys {
			if v, ok := m.Stats[k]; ok {
				return v
			}
		}
		return 0
	}
	out := &structs.MemoryStats{
		RSS:            first("total_rss", "rss", "anon"),
		Cache:          first("total_cache", "cache", "file"),
		MappedFile:     first("total_mapped_file", "mapped_file", "file_mapped"),
		Usage:          m.Usage.Usage,
		MaxUsage:       m.Usage.MaxUsage,
		KernelUsage:    m.KernelUsage.Usage,
		KernelMaxUsage: m.KernelUsage.MaxUsage,
		Measured:       measuredMemory,
	}
	switch {
	case m.SwapOnlyUsage.Usage > 0:
		out.Swap = m.SwapOnlyUsage.Usage
	case m.SwapUsage.Usage > m.Usage.Usage:
		out.Swap = m.SwapUsage.Usage - m.Usage.Usage
	}
	return out
}

// ExecTask runs a command inside the task's container: its namespaces,
// cgroups, capabilities and root filesystem, with the task's environment,
// working directory and user. With a TTY the container's process creates
// the terminal (libcontainer's console socket), so it is the session's
// controlling terminal as with `docker exec -t`.
func (d *Driver) ExecTask(ctx context.Context, taskID string, req *drivers.ExecRequest) (int, error) {
	if len(req.Cmd) == 0 || req.Cmd[0] == "" {
		return -1, structs.NewBadRequest("exec in task %q: the command is empty; name a command such as /bin/sh", taskID)
	}
	t, c, err := d.load(taskID, "exec")
	if err != nil {
		return -1, err
	}
	u, err := resolveUser(t.Data.Workload.Rootfs, t.Data.Workload.User)
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: %w", taskID, err)
	}
	ps := t.Data.Workload.Spec.Process
	p := &libcontainer.Process{
		Args: req.Cmd, Env: ps.Env, Cwd: ps.Cwd,
		UID: u.Uid, GID: u.Gid, AdditionalGroups: u.Sgids,
	}
	d.logger.Info("exec in task", "task", taskID, "command", req.Cmd, "tty", req.TTY)
	if req.TTY {
		return d.execTTY(ctx, taskID, c, p, req)
	}
	return d.execPipes(ctx, taskID, c, p, req)
}

// execPipes runs p with its stdio on pipes copied to and from req.
func (d *Driver) execPipes(ctx context.Context, taskID string, c *libcontainer.Container, p *libcontainer.Process, req *drivers.ExecRequest) (int, error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: %w", taskID, err)
	}
	outR, outW, err := pipe()
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: %w", taskID, err)
	}
	errR, errW, err := pipe()
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: %w", taskID, err)
	}
	p.Stdin, p.Stdout, p.Stderr = inR, outW, errW
	if err := c.Run(p); err != nil {
		return -1, execRunError(taskID, p.Args, err)
	}
	// The process has its copies: close ours so that its exit ends the output.
	for _, f := range []*os.File{inR, outW, errW} {
		_ = f.Close()
	}
	var wg sync.WaitGroup
	for _, cp := range []struct {
		w io.Writer
		r *os.File
	}{{req.Stdout, outR}, {req.Stderr, errR}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := cp.w
			if w == nil {
				w = io.Discard
			}
			_, _ = io.Copy(w, cp.r)
		}()
	}
	go func() {
		if req.Stdin != nil {
			_, _ = io.Copy(inW, req.Stdin)
		}
		_ = inW.Close()
	}()
	code, err := waitProcess(ctx, p)
	// Output may be held open by processes the command left behind.
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		_ = outR.Close()
		_ = errR.Close()
		<-drained
	}
	return code, err
}

// execTTY runs p on a terminal the container's process creates and sends
// back through a console socket.
func (d *Driver) execTTY(ctx context.Context, taskID string, c *libcontainer.Container, p *libcontainer.Process, req *drivers.ExecRequest) (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("exec in task %q: console socket: %w", taskID, err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child")
	defer parent.Close()
	p.ConsoleSocket = child
	err = c.Run(p)
	_ = child.Close()
	if err != nil {
		return -1, execRunError(taskID, p.Args, err)
	}
	f, err := recvConsole(parent, consoleWait)
	if err != nil {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		return -1, fmt.Errorf("exec in task %q: receive the terminal from the container: %w", taskID, err)
	}
	master, err := console.ConsoleFromFile(f)
	if err != nil {
		_ = f.Close()
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		return -1, fmt.Errorf("exec in task %q: terminal from the container: %w", taskID, err)
	}
	defer master.Close()
	pump := supervisor.PumpTTY(master, req)
	code, err := waitProcess(ctx, p)
	pump.Finish(time.Second)
	return code, err
}

// waitProcess waits for an exec'd process, killing it when ctx ends first.
func waitProcess(ctx context.Context, p *libcontainer.Process) (int, error) {
	stop := context.AfterFunc(ctx, func() { _ = p.Signal(unix.SIGKILL) })
	defer stop()
	ps, err := p.Wait()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if ps == nil {
		return -1, fmt.Errorf("wait for exec'd process: %w", err)
	}
	return supervisor.ExitCode(ps), nil
}

// execRunError explains a failed start; a command missing from the image
// is the user's mistake.
func execRunError(taskID string, args []string, err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) {
		return structs.NewBadRequest("exec in task %q: command %q cannot be run in the container: %v; name an executable that exists in the image (e.g. /bin/sh)", taskID, args[0], err)
	}
	return fmt.Errorf("exec in task %q: start %q in the container: %w", taskID, args[0], err)
}

// recvConsole receives the terminal master fd sent over sock (SCM_RIGHTS),
// waiting at most wait.
func recvConsole(sock *os.File, wait time.Duration) (*os.File, error) {
	fc, err := net.FileConn(sock)
	if err != nil {
		return nil, err
	}
	defer fc.Close()
	uc, ok := fc.(*net.UnixConn)
	if !ok {
		return nil, errors.New("console socket is not a unix socket")
	}
	_ = uc.SetReadDeadline(time.Now().Add(wait))
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: expected one control message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: expected one file descriptor (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
