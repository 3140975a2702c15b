package structs

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Variable limits and rules (Nomad's).
const (
	// MaxVariableBytes bounds a variable's encrypted items.
	MaxVariableBytes = 64 << 10
	// MaxVariablePathLen bounds a variable's path.
	MaxVariablePathLen = 128
	// VariableJobsPrefix is the prefix of the paths a task reads implicitly.
	VariableJobsPrefix = "nomad/jobs"
	// DefaultVariableLockTTL and DefaultVariableLockDelay are the lock
	// defaults when a lock-acquire names none (Nomad's api.DefaultLockTTL).
	DefaultVariableLockTTL   = 15 * time.Second
	DefaultVariableLockDelay = 15 * time.Second
	// Lock TTL bounds (Nomad's).
	MinVariableLockTTL = 10 * time.Second
	MaxVariableLockTTL = 24 * time.Hour
)

// validVariablePath is the shape of a variable's path (Nomad's rule).
var validVariablePath = regexp.MustCompile(`^[a-zA-Z0-9-_~/]{1,128}$`)

// VariableLock is a lock held on a variable (Nomad's api.VariableLock):
// the holder's ID and its durations as strings ("15s").
type VariableLock struct {
	ID        string
	TTL       string
	LockDelay string
}

// VariableMetadata is a variable without its items: what lists show.
type VariableMetadata struct {
	Namespace   string
	Path        string
	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64
	ModifyTime  int64
	Lock        *VariableLock `json:",omitempty"`
}

// VariableDecrypted is a variable with its items in plain text (Nomad's
// api.Variable): only the API handlers and the encrypter hold one; it
// never enters Raft, the state store or a snapshot.
type VariableDecrypted struct {
	VariableMetadata
	Items map[string]string
}

// VariableEncrypted is a variable as Raft and the state store hold it:
// its items encrypted (AES-256-GCM) with root key KeyID.
type VariableEncrypted struct {
	VariableMetadata
	// KeyID is the root key that encrypted Data.
	KeyID string
	// Nonce and Data are the AES-GCM nonce and ciphertext of the items (JSON).
	Nonce []byte
	Data  []byte
}

// Copy returns a deep copy.
func (l *VariableLock) Copy() *VariableLock {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

// Copy returns a deep copy.
func (m *VariableMetadata) Copy() *VariableMetadata {
	if m == nil {
		return nil
	}
	c := *m
	c.Lock = m.Lock.Copy()
	return &c
}

// Copy returns a deep copy.
func (v *VariableEncrypted) Copy() *VariableEncrypted {
	if v == nil {
		return nil
	}
	c := *v
	c.Lock = v.Lock.Copy()
	c.Nonce = slices.Clone(v.Nonce)
	c.Data = slices.Clone(v.Data)
	return &c
}

// Copy returns a deep copy.
func (v *VariableDecrypted) Copy() *VariableDecrypted {
	if v == nil {
		return nil
	}
	c := *v
	c.Lock = v.Lock.Copy()
	c.Items = maps.Clone(v.Items)
	return &c
}

// Metadata returns the variable's metadata (a copy).
func (v *VariableEncrypted) Metadata() *VariableMetadata { return v.VariableMetadata.Copy() }

// ValidateVariablePath checks a variable path against Nomad's rules: at most
// 128 characters of letters, digits, "-", "_", "~" and "/", and "nomad/" is
// reserved except below nomad/jobs.
func ValidateVariablePath(path string) error {
	if path == "" {
		return NewBadRequest("variable path is empty: give one, e.g. \"project/db\"")
	}
	if !validVariablePath.MatchString(path) {
		return NewBadRequest("variable path %q is invalid: use at most %d characters of letters, digits, \"-\", \"_\", \"~\" and \"/\"", path, MaxVariablePathLen)
	}
	if strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.Contains(path, "//") {
		return NewBadRequest("variable path %q is invalid: it must not start or end with \"/\" or hold an empty segment", path)
	}
	parts := strings.Split(path, "/")
	if parts[0] == "nomad" && (len(parts) == 1 || (parts[1] != "jobs" && parts[1] != "job-templates")) {
		return NewBadRequest("variable path %q is invalid: \"nomad\" is a reserved top-level path; write below \"nomad/jobs/<job>\" or use another prefix", path)
	}
	return nil
}

// ValidateVariableItems checks a variable's items: at least one, keys not empty.
func ValidateVariableItems(path string, items map[string]string) error {
	if len(items) == 0 {
		return NewBadRequest("variable %q has no items: give at least one key=value", path)
	}
	for k := range items {
		if k == "" {
			return NewBadRequest("variable %q has an item with an empty key", path)
		}
	}
	return nil
}

// ParseLockDuration parses a lock's TTL or LockDelay ("" gives def).
func ParseLockDuration(field, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, NewBadRequest("lock %s %q is not a duration: write e.g. \"15s\"", field, s)
	}
	return d, nil
}

// Variable apply operations (VariableApplyRequest.Op).
const (
	VarOpSet         = "set"
	VarOpDelete      = "delete"
	VarOpLockAcquire = "lock-acquire"
	VarOpLockRelease = "lock-release"
)

// VariableApplyRequest is one variable write (VariableApplyRequestType):
// set, delete, lock acquire or release, with an optional check-and-set
// index. Var's items are already encrypted.
type VariableApplyRequest struct {
	Op  string
	Var *VariableEncrypted
	// CAS, when set, is the ModifyIndex the variable must have (0: must not exist).
	CAS *uint64 `json:",omitempty"`
	// LockID, for writes to a locked variable and for releases, is the
	// holder's lock ID; ForceRelease (the leader's expiry of a lock)
	// releases whatever lock is held.
	LockID       string
	ForceRelease bool
}

// ErrVariableConflict is a variable write refused by check-and-set or a lock
// (HTTP 409, with the current variable).
type ErrVariableConflict struct {
	Namespace, Path string
	Reason          string
}

func (e *ErrVariableConflict) Error() string {
	return fmt.Sprintf("variable %q in namespace %q: %s", e.Path, e.Namespace, e.Reason)
}

// VariablesRekeyRequest re-encrypts variables with the active key
// (VariablesRekeyRequestType): each replaces the stored variable whose
// ModifyIndex still is the one read, keeping its metadata.
type VariablesRekeyRequest struct {
	Vars []*VariableEncrypted
}

// WorkloadClaims are the task a workload identity names (the claims of
// the JWT the leader signs for it).
type WorkloadClaims struct {
	Namespace    string
	JobID        string
	TaskGroup    string
	Task         string
	AllocationID string
}
