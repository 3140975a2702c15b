package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds on the supervisor's clean-up after the workload's main process exits.
const (
	descendantKillBound = 10 * time.Second
	logDrainBound       = 5 * time.Second
	handlerDrainBound   = 2 * time.Second
	killPollInterval    = 20 * time.Millisecond
)

// proc is the supervisor's view of its one workload.
type proc struct {
	spec    *Spec
	log     *slog.Logger
	selfPID int
	// workload hosts the workload when the spec names a kind; nil runs
	// spec.Command.
	workload Workload

	pid          int
	pidStartTime uint64
	startedAt    time.Time

	// exited is closed when the main process has been reaped; exitWS is
	// written before that close.
	exited chan struct{}
	exitWS unix.WaitStatus
	// reaped is closed when the supervisor has no children left.
	reaped chan struct{}
	// done is closed once result is final and recorded in the status file.
	done   chan struct{}
	result *Result

	delivered     chan struct{}
	deliveredOnce sync.Once
	handlers      sync.WaitGroup
}

// run is the supervisor process from a valid spec to its exit code.
func run(spec *Spec, hs *os.File) int {
	logFile, err := os.OpenFile(filepath.Join(spec.StateDir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		reportStartFailure(hs, nil, fmt.Errorf("open supervisor log: %w", err))
		return 1
	}
	defer logFile.Close()
	p := &proc{
		spec:      spec,
		log:       slog.New(slog.NewTextHandler(logFile, nil)).With("task", spec.TaskID, "supervisor_pid", os.Getpid()),
		selfPID:   os.Getpid(),
		exited:    make(chan struct{}),
		reaped:    make(chan struct{}),
		done:      make(chan struct{}),
		delivered: make(chan struct{}),
	}
	fail := func(err error) int {
		reportStartFailure(hs, p.log.Error, err)
		return 1
	}
	// Do not pin the directory we were started from.
	if err := os.Chdir("/"); err != nil {
		return fail(fmt.Errorf("chdir /: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("become child subreaper: %w", err))
	}
	logDir, err := OpenLogDir(spec.LogRoot, spec.LogDir)
	if err != nil {
		return fail(fmt.Errorf("log dir: %w", err))
	}
	defer logDir.Close()
	stdout, err := NewRotatorIn(logDir, spec.StdoutBase, spec.LogMaxFiles, spec.LogMaxFileBytes)
	if err != nil {
		return fail(fmt.Errorf("stdout log: %w", err))
	}
	stderr, err := NewRotatorIn(logDir, spec.StderrBase, spec.LogMaxFiles, spec.LogMaxFileBytes)
	if err != nil {
		_ = stdout.Close()
		return fail(fmt.Errorf("stderr log: %w", err))
	}
	ln, err := listen(spec.StateDir)
	if err != nil {
		return fail(err)
	}
	socketPath := filepath.Join(spec.StateDir, SocketFile)
	defer os.Remove(socketPath)
	if err := os.Chmod(socketPath, 0o600); err != nil {
		return fail(fmt.Errorf("restrict supervisor socket: %w", err))
	}

	sigCh := make(chan os.Signal, 1)
	signal.Notify(sigCh, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigCh)

	if p.workload, err = newWorkload(spec, p.log); err != nil {
		_ = ln.Close()
		return fail(err)
	}
	copiers, err := p.start(stdout, stderr)
	if err != nil {
		_ = ln.Close()
		if p.workload != nil {
			return fail(err)
		}
		return fail(fmt.Errorf("start %s: %w", spec.Command, err))
	}
	go p.reap()
	if err := writeStatus(spec.StateDir, p.status()); err != nil {
		p.log.Error("record start", "error", err)
	}
	if hs != nil {
		if err := json.NewEncoder(hs).Encode(p.status().response()); err != nil {
			p.log.Error("report start", "error", err)
		}
		_ = hs.Close()
	}
	p.log.Info("workload started", "pid", p.pid, "command", spec.Command)

	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		p.serve(ln)
	}()

	p.waitExit(sigCh)
	p.finish(copiers, stdout, stderr)

	linger := spec.Linger
	if linger <= 0 {
		linger = DefaultLinger
	}
	t := time.NewTimer(linger)
lingering:
	for {
		select {
		case <-p.delivered:
			break lingering
		case <-t.C:
			p.log.Info("nobody collected the result; exiting, status file keeps it", "linger", linger)
			break lingering
		case sig := <-sigCh:
			// SIGTERM or SIGINT once the workload is gone: nothing is left
			// to stop, so leave now instead of lingering.
			if sig != syscall.SIGHUP {
				p.log.Info("asked to terminate after the workload exited; exiting, status file keeps the result", "signal", sig)
				break lingering
			}
		}
	}
	t.Stop()
	_ = ln.Close()
	<-acceptDone
	waitGroupTimeout(&p.handlers, handlerDrainBound)
	return 0
}

// start launches the workload in its own process group with its output
// going through pipes into the rotators. The returned WaitGroup is done when
// both pipes reached EOF.
func (p *proc) start(stdout, stderr *Rotator) (*copyGroup, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return nil, err
	}
	if p.workload != nil {
		pid, err := p.workload.Start(outW, errW)
		_ = outW.Close()
		_ = errW.Close()
		if err != nil {
			_ = outR.Close()
			_ = errR.Close()
			return nil, err
		}
		p.started(pid)
		return p.copyOutput(outR, errR, stdout, stderr), nil
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if c := p.spec.Credential; c != nil {
		sys.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: c.Groups}
	}
	attr := &os.ProcAttr{
		Dir:   p.spec.Dir,
		Env:   p.spec.Env,
		Files: []*os.File{devnull, outW, errW},
		Sys:   sys,
	}
	argv := append([]string{p.spec.Command}, p.spec.Args...)
	proc, err := os.StartProcess(p.spec.Command, argv, attr)
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		_ = outR.Close()
		_ = errR.Close()
		if c := p.spec.Credential; c != nil && errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w (running as uid %d gid %d: check that this user can enter the working dir %s and execute the command)", err, c.UID, c.GID, p.spec.Dir)
		}
		return nil, err
	}
	p.started(proc.Pid)
	// The supervisor reaps with wait4(-1); drop the os.Process bookkeeping.
	_ = proc.Release()
	return p.copyOutput(outR, errR, stdout, stderr), nil
}

// started records the workload's main process.
func (p *proc) started(pid int) {
	p.pid = pid
	p.startedAt = time.Now()
	if ps, err := readProcStat(p.pid); err == nil {
		p.pidStartTime = ps.StartTime
	}
}

// copyOutput starts copying the workload's output pipes into the logs.
func (p *proc) copyOutput(outR, errR *os.File, stdout, stderr *Rotator) *copyGroup {
	cg := &copyGroup{pipes: []*os.File{outR, errR}}
	cg.wg.Add(2)
	go cg.copy(p.log, stdout, outR, "stdout")
	go cg.copy(p.log, stderr, errR, "stderr")
	return cg
}

// copyGroup owns the goroutines copying the workload's output to its logs.
type copyGroup struct {
	wg    sync.WaitGroup
	pipes []*os.File
}

func (c *copyGroup) copy(log *slog.Logger, w io.Writer, r *os.File, stream string) {
	defer c.wg.Done()
	// io.Copy would go through (*os.File).WriteTo and a 32 KB buffer per
	// stream held for the task's lifetime; a smaller one per supervisor adds
	// up over every task on the node, and a pipe read returns what is
	// there anyway.
	buf := make([]byte, copyBufferSize)
	if _, err := io.CopyBuffer(w, onlyReader{r}, buf); err != nil && !errors.Is(err, os.ErrClosed) {
		log.Error("copy workload output", "stream", stream, "error", err)
	}
}

// copyBufferSize is the buffer each output copier reads the workload's pipe
// into.
const copyBufferSize = 8 << 10

// onlyReader hides the file's WriteTo so io.CopyBuffer uses the buffer it
// is given.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// reap collects every child (the workload and re-parented escapees) until
// none is left.
func (p *proc) reap() {
	defer close(p.reaped)
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return // ECHILD: no children left
		}
		if pid == p.pid {
			p.exitWS = ws
			close(p.exited)
		}
	}
}

// waitExit blocks until the main process exits. SIGTERM or SIGINT to the
// supervisor stops the workload with the spec's kill signal and timeout.
func (p *proc) waitExit(sigCh <-chan os.Signal) {
	for {
		select {
		case <-p.exited:
			return
		case sig := <-sigCh:
			if sig == syscall.SIGHUP {
				continue
			}
			p.log.Info("supervisor asked to terminate; stopping workload", "signal", sig)
			sigToSend := p.spec.KillSignal
			if sigToSend == 0 {
				sigToSend = syscall.SIGTERM
			}
			go p.stop(sigToSend, p.spec.KillTimeout)
		}
	}
}

// finish runs after the main process exited: it kills and reaps what the
// workload left behind, drains the logs and records the result.
func (p *proc) finish(copiers *copyGroup, stdout, stderr *Rotator) {
	res := resultFrom(p.exitWS)
	p.log.Info("workload exited", "exit_code", res.ExitCode, "signal", res.Signal)

	deadline := time.NewTimer(descendantKillBound)
	tick := time.NewTicker(killPollInterval)
	for killing := true; killing; {
		if n := killTree(p.selfPID, p.pid); n > 0 {
			p.log.Info("killed processes left behind by the workload", "count", n)
		}
		select {
		case <-p.reaped:
			killing = false
		case <-deadline.C:
			p.log.Error("descendants survive SIGKILL; giving up on them", "bound", descendantKillBound)
			killing = false
		case <-tick.C:
		}
	}
	deadline.Stop()
	tick.Stop()

	if !waitGroupTimeout(&copiers.wg, logDrainBound) {
		p.log.Error("workload output still open after exit; closing logs", "bound", logDrainBound)
		for _, f := range copiers.pipes {
			_ = f.Close()
		}
		copiers.wg.Wait()
	}
	for _, f := range copiers.pipes {
		_ = f.Close()
	}
	if p.workload != nil {
		if note := p.workload.Finish(res); note != "" {
			p.log.Info("workload note", "note", note)
			if _, err := stderr.Write([]byte(note + "\n")); err != nil {
				p.log.Error("write workload note to stderr log", "error", err)
			}
		}
	}
	if err := stdout.Close(); err != nil {
		p.log.Error("close stdout log", "error", err)
	}
	if err := stderr.Close(); err != nil {
		p.log.Error("close stderr log", "error", err)
	}

	res.CompletedAt = time.Now()
	p.result = res
	st := p.status()
	st.Result = res
	if err := writeStatus(p.spec.StateDir, st); err != nil {
		p.log.Error("record exit", "error", err)
	}
	close(p.done)
}

// stop signals the workload's process group, waits up to timeout for the
// main process to exit, then kills the whole tree.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	if p.workload != nil {
		if err := p.workload.Signal(sig); err != nil {
			p.log.Warn("signal workload", "signal", sig, "error", err)
		}
	} else if err := syscall.Kill(-p.pid, sig); err != nil {
		_ = syscall.Kill(p.pid, sig)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.log.Info("workload ignored the stop signal; killing it", "signal", sig, "timeout", timeout)
		if p.workload != nil {
			if err := p.workload.Kill(); err != nil {
				p.log.Warn("kill workload", "error", err)
			}
		}
		killTree(p.selfPID, p.pid)
	}
}

// status is the current record for the status file and ping.
func (p *proc) status() *Status {
	st := &Status{TaskID: p.spec.TaskID, SupervisorPID: p.selfPID, PID: p.pid, PIDStartTime: p.pidStartTime, StartedAt: p.startedAt}
	select {
	case <-p.done:
		st.Result = p.result
	default:
	}
	return st
}

func (s *Status) response() response {
	return response{TaskID: s.TaskID, SupervisorPID: s.SupervisorPID, PID: s.PID, StartedAt: s.StartedAt, Result: s.Result}
}

// resultFrom converts a wait status; a signal death reports 128+signal as
// the exit code, as shells do.
func resultFrom(ws unix.WaitStatus) *Result {
	r := &Result{}
	switch {
	case ws.Exited():
		r.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		r.Signal = int(ws.Signal())
		r.ExitCode = 128 + r.Signal
	default:
		r.Err = fmt.Sprintf("unexpected wait status %#x", uint32(ws))
	}
	return r
}

// waitGroupTimeout waits for wg up to d and reports whether it finished.
// On timeout the helper goroutine ends when wg finally does.
func waitGroupTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	ch := make(chan struct{})
	go func() {
		wg.Wait()
		close(ch)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
