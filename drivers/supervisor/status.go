package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Status is the supervisor's record of its workload, kept in
// <StateDir>/status.json and rewritten atomically on every change.
type Status struct {
	TaskID string
	// SupervisorPID is the supervisor process; PID the workload's main process.
	SupervisorPID int
	PID           int
	// PIDStartTime is the workload's start time in clock ticks since boot
	// (/proc/<pid>/stat field 22), telling it apart from a reused pid.
	PIDStartTime uint64 `json:",omitempty"`
	StartedAt    time.Time
	// Result is set once the workload has exited and everything it started
	// is gone.
	Result *Result `json:",omitempty"`
}

// Result is how a workload ended.
type Result struct {
	// ExitCode is the exit status; for a workload killed by a signal it is
	// 128+Signal, as a shell reports it.
	ExitCode int
	// Signal is the signal that killed the workload, 0 when it exited.
	Signal int
	// OOMKilled is set when the kernel's OOM killer ended the workload
	// (reported by workloads that know, such as containers).
	OOMKilled   bool `json:",omitempty"`
	CompletedAt time.Time
	// Err is set when the supervisor could not run or follow the workload.
	Err string `json:",omitempty"`
}

// ReadStatus reads the status file in stateDir. A missing file is reported
// with an error satisfying errors.Is(err, os.ErrNotExist).
func ReadStatus(stateDir string) (*Status, error) {
	path := filepath.Join(stateDir, StatusFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read task status: %w", err)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode task status %s: %w", path, err)
	}
	return &st, nil
}

func writeStatus(stateDir string, st *Status) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode task status: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(stateDir, StatusFile), b, 0o644); err != nil {
		return fmt.Errorf("write task status: %w", err)
	}
	return nil
}

// supervisorExitBound is how long KillOrphan waits for a supervisor whose
// socket closed to finish exiting.
const supervisorExitBound = 2 * time.Second

// supervisorGone reports whether pid has exited, waiting up to
// supervisorExitBound: a SIGKILLed supervisor closes its socket before the
// kernel marks it a zombie.
func supervisorGone(pid int) bool {
	for deadline := time.Now().Add(supervisorExitBound); processAlive(pid, 0); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(killPollInterval)
	}
	return true
}

// KillOrphan handles a supervisor that died without recording an exit (it
// was SIGKILLed, or the host ran out of memory): if the workload it started
// still runs, unsupervised, KillOrphan kills it, its process group and every
// process still below it, and reports true. The workload is recognised by
// its pid and start time (a reused pid is left alone). It does nothing when
// the supervisor is alive or the exit is recorded.
//
// Processes that left the tree (setsid and a double fork) are found by the
// task identity in their environment (escapees); one that also cleared
// its environment is not caught (a cgroup per task would hold it).
func KillOrphan(st *Status) bool {
	if st == nil || st.Result != nil || st.PID <= 0 || !supervisorGone(st.SupervisorPID) {
		return false
	}
	if st.PIDStartTime == 0 {
		return false
	}
	if !processAlive(st.PID, st.PIDStartTime) {
		// The main process is gone; what it left running is not.
		return killEscapees(st.TaskID, st.PIDStartTime)
	}
	// Stop the tree so that nothing forks while it is walked, then kill
	// it leaves first: a killed parent's children would move to init.
	_ = syscall.Kill(-st.PID, syscall.SIGSTOP)
	_ = syscall.Kill(st.PID, syscall.SIGSTOP)
	for i := 0; i < 3; i++ {
		for _, pid := range descendants(st.PID) {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
	}
	killTree(st.PID, st.PID)
	_ = syscall.Kill(st.PID, syscall.SIGKILL)
	_ = killEscapees(st.TaskID, st.PIDStartTime)
	return true
}
