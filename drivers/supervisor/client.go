package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StartTimeout bounds how long Start waits for the supervisor to report
// when the caller's context has no earlier deadline.
const StartTimeout = 30 * time.Second

// ErrNotRunning is returned by Attach when no live supervisor answers in the
// state dir; ReadStatus then tells how the task ended, if it was recorded.
var ErrNotRunning = errors.New("task supervisor is not running")

// Client talks to one supervisor through its socket. It holds no
// connection between calls and is safe for concurrent use.
type Client struct {
	stateDir string
	info     response
}

// TaskID returns the task the supervisor runs.
func (c *Client) TaskID() string { return c.info.TaskID }

// SupervisorPID returns the supervisor's process id.
func (c *Client) SupervisorPID() int { return c.info.SupervisorPID }

// PID returns the workload's main process id.
func (c *Client) PID() int { return c.info.PID }

// StartedAt returns when the workload started.
func (c *Client) StartedAt() time.Time { return c.info.StartedAt }

// StateDir returns the supervisor's state directory.
func (c *Client) StateDir() string { return c.stateDir }

// Start writes spec into spec.StateDir, launches selfPath (empty: this
// executable) as a supervisor in its own session with stdio on /dev/null,
// and waits until it reports that the workload started, or why it did not.
// The supervisor outlives the caller; a goroutine reaps it if it exits while
// the caller still runs. logger may be nil.
func Start(ctx context.Context, selfPath string, spec *Spec, logger *slog.Logger) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("supervisor spec: %w", err)
	}
	if selfPath == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable to run the task supervisor: %w", err)
		}
		selfPath = p
	}
	retire(ctx, spec.StateDir, logger)
	specPath, err := WriteSpec(spec)
	if err != nil {
		return nil, err
	}
	// Remove the record of an earlier run in this state dir.
	if err := os.Remove(filepath.Join(spec.StateDir, StatusFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove old task status: %w", err)
	}
	hsR, hsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("handshake pipe: %w", err)
	}
	defer hsR.Close()
	cmd := exec.Command(selfPath, Command, specPath)
	cmd.ExtraFiles = []*os.File{hsW} // fd 3
	cmd.Env = supervisorEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := startIn(cmd, spec.NetNS); err != nil {
		_ = hsW.Close()
		return nil, fmt.Errorf("launch task supervisor %s: %w", selfPath, err)
	}
	_ = hsW.Close()
	supPID := cmd.Process.Pid
	// Reap the supervisor when it exits. This goroutine may outlive its
	// caller (the supervisor lingers after the task), so it must not log:
	// the supervisor's outcome is in its status file.
	go func() { _ = cmd.Wait() }()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, StartTimeout)
		defer cancel()
	}
	stop := context.AfterFunc(ctx, func() { _ = hsR.SetReadDeadline(time.Now()) })
	defer stop()
	line, rerr := bufio.NewReader(hsR).ReadBytes('\n')
	if rerr != nil {
		if ctx.Err() != nil {
			// SIGTERM: a supervisor that already started the workload stops it.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return nil, fmt.Errorf("task supervisor (pid %d) did not report within the start deadline: %w", supPID, ctx.Err())
		}
		return nil, fmt.Errorf("task supervisor (pid %d) exited before starting the task%s", supPID, logTail(spec.StateDir))
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("decode task supervisor handshake %q: %w", line, err)
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return &Client{stateDir: spec.StateDir, info: resp}, nil
}

// retireBound bounds how long retire waits for an earlier run to stop.
const retireBound = 15 * time.Second

// retire stops what an earlier run in stateDir may have left running
// before a new run takes the state dir over. The caller lost track of that
// run (a client agent that died between the driver starting a task and
// recording its handle restarts the task without one), so nothing else
// would ever stop it: a supervisor that still answers is told to kill its
// workload; a workload whose supervisor died without recording an exit is
// killed as an orphan. A recorded exit, or no earlier run, needs nothing.
func retire(ctx context.Context, stateDir string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, retireBound)
	defer cancel()
	if c, err := Attach(ctx, stateDir); err == nil {
		if _, err := c.Stop(ctx, syscall.SIGKILL, 0); err != nil {
			logger.Warn("stop an earlier run of the task left in its state dir", "task", c.TaskID(), "pid", c.PID(), "supervisor_pid", c.SupervisorPID(), "error", err)
			return
		}
		logger.Warn("stopped an earlier run of the task that its driver had lost track of", "task", c.TaskID(), "pid", c.PID(), "supervisor_pid", c.SupervisorPID())
		return
	}
	if st, err := ReadStatus(stateDir); err == nil && KillOrphan(st) {
		logger.Warn("killed an unsupervised earlier run of the task", "task", st.TaskID, "pid", st.PID, "supervisor_pid", st.SupervisorPID)
	}
}

// logTail returns the last lines of the supervisor log, for error messages.
func logTail(stateDir string) string {
	b, err := os.ReadFile(filepath.Join(stateDir, LogFile))
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; supervisor log: " + strings.Join(lines, " | ")
}

// Attach reconnects to the supervisor in stateDir. It returns an error
// wrapping ErrNotRunning unless a supervisor process is alive, answers on
// the socket, and reports the pid the socket's peer really has.
func Attach(ctx context.Context, stateDir string) (*Client, error) {
	c := &Client{stateDir: stateDir}
	conn, err := dial(ctx, stateDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	peer := peerPID(conn)
	_ = conn.Close()
	resp, err := c.call(ctx, request{Op: opPing})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
	}
	if peer != 0 && peer != resp.SupervisorPID {
		return nil, fmt.Errorf("%w: socket in %s is served by pid %d, not the supervisor pid %d it reports", ErrNotRunning, stateDir, peer, resp.SupervisorPID)
	}
	if !processAlive(resp.SupervisorPID, 0) {
		return nil, fmt.Errorf("%w: supervisor pid %d is gone", ErrNotRunning, resp.SupervisorPID)
	}
	c.info = resp
	return c, nil
}

// peerPID returns the pid of a unix socket's peer (SO_PEERCRED), 0 if unknown.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	var pid int
	_ = raw.Control(func(fd uintptr) {
		cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		if err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// Wait blocks until the workload has exited and everything it started is
// gone, and returns the result.
func (c *Client) Wait(ctx context.Context) (*Result, error) {
	resp, err := c.call(ctx, request{Op: opWait})
	if err != nil {
		return nil, err
	}
	if resp.Result == nil {
		return nil, fmt.Errorf("task supervisor answered wait without a result")
	}
	return resp.Result, nil
}

// Stop signals the workload's process group, waits up to timeout, then
// kills the whole tree; it returns once the workload is gone.
func (c *Client) Stop(ctx context.Context, sig syscall.Signal, timeout time.Duration) (*Result, error) {
	resp, err := c.call(ctx, request{Op: opStop, Signal: int(sig), Timeout: timeout})
	if err != nil {
		return nil, err
	}
	return resp.Result, nil
}

// Signal sends sig to the workload's main process.
func (c *Client) Signal(ctx context.Context, sig syscall.Signal) error {
	_, err := c.call(ctx, request{Op: opSignal, Signal: int(sig)})
	return err
}

// call sends one request on a fresh connection and reads the reply.
func (c *Client) call(ctx context.Context, req request) (response, error) {
	conn, err := dial(ctx, c.stateDir)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	b, err := json.Marshal(req)
	if err != nil {
		return response{}, fmt.Errorf("encode supervisor request: %w", err)
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return response{}, fmt.Errorf("send %s to task supervisor: %w", req.Op, ctxErr(ctx, err))
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return response{}, fmt.Errorf("read %s reply from task supervisor: %w", req.Op, ctxErr(ctx, err))
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("decode %s reply from task supervisor: %w", req.Op, err)
	}
	if resp.Error != "" {
		return resp, fmt.Errorf("task supervisor: %s", resp.Error)
	}
	return resp, nil
}

// ctxErr prefers the context's error when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
