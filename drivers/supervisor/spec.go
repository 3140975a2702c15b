package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Files the supervisor keeps in Spec.StateDir.
const (
	SpecFile   = "spec.json"
	StatusFile = "status.json"
	SocketFile = "control.sock"
	LogFile    = "supervisor.log"
)

// SpecVersion is the current encoding version of Spec.
const SpecVersion = 1

// DefaultLinger is how long a supervisor waits for someone to collect the
// exit result before it exits on its own (the status file keeps it).
const DefaultLinger = time.Minute

// Spec is everything a supervisor needs to run one workload.
type Spec struct {
	Version int
	// TaskID identifies the task ("<alloc id>/<task name>"); it is echoed by
	// ping so a client can check it reached the right supervisor.
	TaskID string
	// Command is the absolute path of the program; Args exclude argv[0].
	Command string
	Args    []string
	// Env is the complete environment as KEY=VALUE pairs.
	Env []string
	// Dir is the working directory.
	Dir string
	// Credential, when set, runs the workload as that user.
	Credential *Credential `json:",omitempty"`
	// Log files: <LogDir>/<StdoutBase>.N and <LogDir>/<StderrBase>.N.
	LogDir string
	// LogRoot, when set, is a trusted directory LogDir lies below (the
	// allocation directory): LogDir is resolved inside it without following
	// a symlink out of it, as the task can replace alloc/logs.
	LogRoot         string `json:",omitempty"`
	StdoutBase      string
	StderrBase      string
	LogMaxFiles     int
	LogMaxFileBytes int64
	// KillTimeout and KillSignal are used when the supervisor itself is asked
	// to terminate (SIGTERM/SIGINT to the supervisor process).
	KillTimeout time.Duration
	KillSignal  syscall.Signal
	// StateDir holds the spec, the status file, the socket and the
	// supervisor's own log.
	StateDir string
	// Linger bounds how long the supervisor waits, after the workload exited,
	// for a waiter to collect the result (0: DefaultLinger).
	Linger time.Duration
	// Workload, when set, names a registered workload kind (see
	// RegisterWorkload) that the supervisor hosts instead of running Command;
	// WorkloadConfig is that kind's own configuration.
	Workload       string          `json:",omitempty"`
	WorkloadConfig json.RawMessage `json:",omitempty"`
	// NetNS, when set, is a network namespace file: the supervisor is
	// started in that namespace, so the workload and exec sessions run there.
	NetNS string `json:",omitempty"`
}

// Credential is the user a workload runs as.
type Credential struct {
	UID    uint32
	GID    uint32
	Groups []uint32 `json:",omitempty"`
}

// Validate reports the first problem that would keep the spec from running.
func (s *Spec) Validate() error {
	var errs []error
	if s.Workload == "" && (s.Command == "" || !filepath.IsAbs(s.Command)) {
		errs = append(errs, fmt.Errorf("Command %q must be an absolute path", s.Command))
	}
	if s.StateDir == "" {
		errs = append(errs, errors.New("StateDir is required"))
	}
	if s.LogDir == "" || s.StdoutBase == "" || s.StderrBase == "" {
		errs = append(errs, errors.New("LogDir, StdoutBase and StderrBase are required"))
	}
	if s.LogMaxFiles < 1 {
		errs = append(errs, fmt.Errorf("LogMaxFiles %d must be at least 1", s.LogMaxFiles))
	}
	if s.LogMaxFileBytes < 1 {
		errs = append(errs, fmt.Errorf("LogMaxFileBytes %d must be positive", s.LogMaxFileBytes))
	}
	return errors.Join(errs...)
}

// WriteSpec writes s to <s.StateDir>/spec.json (mode 0600: it holds the
// task's environment) and returns the path.
func WriteSpec(s *Spec) (string, error) {
	if s.Version == 0 {
		s.Version = SpecVersion
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode supervisor spec: %w", err)
	}
	path := filepath.Join(s.StateDir, SpecFile)
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return "", fmt.Errorf("write supervisor spec: %w", err)
	}
	return path, nil
}

// ReadSpec reads and validates a spec file.
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read supervisor spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode supervisor spec %s: %w", path, err)
	}
	if s.Version != SpecVersion {
		return nil, fmt.Errorf("supervisor spec %s has version %d, this binary understands %d", path, s.Version, SpecVersion)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("supervisor spec %s: %w", path, err)
	}
	return &s, nil
}

// writeFileAtomic writes b to a temp file beside path and renames it over
// path, so readers see the old or the new content, never a mix. It does not
// fsync: the files matter across agent restarts, not host crashes (which
// end the tasks too), and an fsync costs milliseconds per task start.
func writeFileAtomic(path string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
	}
	return werr
}
