package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Variables: the items are encrypted here, on the leader, with the active
// root key before the Raft entry is written; Raft, the state store and
// snapshots only ever hold the ciphertext.

// DecryptVariable returns v with its items in plain text.
func (s *Server) DecryptVariable(v *structs.VariableEncrypted) (*structs.VariableDecrypted, error) {
	return s.enc.decryptVariable(v)
}

// ApplyVariable validates and writes one variable operation (structs.VarOp*)
// and returns the variable as stored (items in plain text). cas, when set,
// is the check-and-set index. A write refused by check-and-set or a lock
// returns *structs.ErrVariableConflict.
func (s *Server) ApplyVariable(ctx context.Context, op string, v *structs.VariableDecrypted, cas *uint64) (*structs.VariableDecrypted, error) {
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	if v == nil {
		return nil, structs.NewBadRequest("no variable given")
	}
	if err := structs.ValidateVariablePath(v.Path); err != nil {
		return nil, err
	}
	now := time.Now()
	in := v.Copy()
	in.ModifyTime = now.UnixNano()
	in.CreateTime = now.UnixNano()
	req := &structs.VariableApplyRequest{Op: op, CAS: cas}
	if v.Lock != nil {
		req.LockID = v.Lock.ID
	}
	switch op {
	case structs.VarOpSet:
		if err := structs.ValidateVariableItems(v.Path, v.Items); err != nil {
			return nil, err
		}
		in.Lock = nil
	case structs.VarOpDelete, structs.VarOpLockRelease:
		req.Var = &structs.VariableEncrypted{VariableMetadata: in.VariableMetadata}
	case structs.VarOpLockAcquire:
		lock, err := s.varLocks.newLock(v, now)
		if err != nil {
			return nil, err
		}
		in.Lock = lock
		req.LockID = ""
		cur, err := s.state.VariableByPath(nil, v.Namespace, v.Path)
		if err != nil {
			return nil, err
		}
		if cur != nil && len(v.Items) == 0 {
			req.Var = &structs.VariableEncrypted{VariableMetadata: in.VariableMetadata}
		}
	default:
		return nil, structs.NewBadRequest("unknown variable operation %q", op)
	}
	if req.Var == nil {
		enc, err := s.enc.encryptVariable(in)
		if err != nil {
			return nil, err
		}
		req.Var = enc
	}
	if _, err := s.raftApply(ctx, structs.VariableApplyRequestType, req); err != nil {
		return nil, err
	}
	switch op {
	case structs.VarOpDelete:
		s.varLocks.drop(v.Namespace, v.Path)
		return nil, nil
	case structs.VarOpLockAcquire:
		s.varLocks.start(v.Namespace, v.Path, in.Lock, now)
	case structs.VarOpLockRelease:
		s.varLocks.drop(v.Namespace, v.Path)
	}
	stored, err := s.state.VariableByPath(nil, v.Namespace, v.Path)
	if err != nil || stored == nil {
		return nil, err
	}
	return s.enc.decryptVariable(stored)
}

// RenewVariableLock extends the TTL of the lock lockID holds on a variable
// and returns the variable's metadata.
func (s *Server) RenewVariableLock(namespace, path, lockID string) (*structs.VariableMetadata, error) {
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	cur, err := s.state.VariableByPath(nil, namespace, path)
	if err != nil {
		return nil, err
	}
	if cur == nil || cur.Lock == nil || cur.Lock.ID != lockID || lockID == "" {
		return nil, &structs.ErrVariableConflict{Namespace: namespace, Path: path, Reason: "the lock to renew is not held by this lock ID (it expired or was released)"}
	}
	s.varLocks.start(namespace, path, cur.Lock, time.Now())
	return cur.Metadata(), nil
}

// varLockTimers is the leader's clock of variable locks: when each held
// lock expires unless renewed, and until when an expired one may not be
// acquired again (its lock delay). Rebuilt from state on each leadership:
// every held lock gets a full TTL from then.
type varLockTimers struct {
	mu      sync.Mutex
	expires map[string]time.Time
	locks   map[string]*structs.VariableLock
	delayed map[string]time.Time
}

func newVarLockTimers() *varLockTimers {
	return &varLockTimers{expires: map[string]time.Time{}, locks: map[string]*structs.VariableLock{}, delayed: map[string]time.Time{}}
}

func lockKey(namespace, path string) string { return namespace + "\x00" + path }

// reset restarts the timers of every lock held in st.
func (t *varLockTimers) reset(st *state.Store, now time.Time) {
	vars, err := st.Variables(nil, "*", "")
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.expires)
	clear(t.locks)
	clear(t.delayed)
	if err != nil {
		return
	}
	for _, v := range vars {
		if v.Lock != nil {
			ttl, _ := structs.ParseLockDuration("TTL", v.Lock.TTL, structs.DefaultVariableLockTTL)
			k := lockKey(v.Namespace, v.Path)
			t.expires[k], t.locks[k] = now.Add(ttl), v.Lock.Copy()
		}
	}
}

// newLock returns the lock an acquire of v asks for, refused during the
// variable's lock delay.
func (t *varLockTimers) newLock(v *structs.VariableDecrypted, now time.Time) (*structs.VariableLock, error) {
	var ttlS, delayS string
	if v.Lock != nil {
		ttlS, delayS = v.Lock.TTL, v.Lock.LockDelay
	}
	ttl, err := structs.ParseLockDuration("TTL", ttlS, structs.DefaultVariableLockTTL)
	if err != nil {
		return nil, err
	}
	if ttl < structs.MinVariableLockTTL || ttl > structs.MaxVariableLockTTL {
		return nil, structs.NewBadRequest("lock TTL %s is out of range: give between %s and %s", ttl, structs.MinVariableLockTTL, structs.MaxVariableLockTTL)
	}
	delay, err := structs.ParseLockDuration("LockDelay", delayS, structs.DefaultVariableLockDelay)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	until := t.delayed[lockKey(v.Namespace, v.Path)]
	t.mu.Unlock()
	if now.Before(until) {
		return nil, &structs.ErrVariableConflict{Namespace: v.Namespace, Path: v.Path,
			Reason: "its last lock expired and its lock delay runs until " + until.UTC().Format(time.RFC3339)}
	}
	return &structs.VariableLock{ID: structs.GenerateUUID(), TTL: ttl.String(), LockDelay: delay.String()}, nil
}

// start (re)starts a held lock's TTL.
func (t *varLockTimers) start(namespace, path string, lock *structs.VariableLock, now time.Time) {
	ttl, _ := structs.ParseLockDuration("TTL", lock.TTL, structs.DefaultVariableLockTTL)
	t.mu.Lock()
	defer t.mu.Unlock()
	k := lockKey(namespace, path)
	t.expires[k], t.locks[k] = now.Add(ttl), lock.Copy()
}

// drop forgets a released lock (no delay: its holder let it go).
func (t *varLockTimers) drop(namespace, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := lockKey(namespace, path)
	delete(t.expires, k)
	delete(t.locks, k)
}

// expired returns the locks past their TTL, starting their lock delays.
func (t *varLockTimers) expired(now time.Time) []*structs.VariableApplyRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*structs.VariableApplyRequest
	for k, at := range t.expires {
		if now.Before(at) {
			continue
		}
		lock := t.locks[k]
		delay, _ := structs.ParseLockDuration("LockDelay", lock.LockDelay, structs.DefaultVariableLockDelay)
		t.delayed[k] = now.Add(delay)
		delete(t.expires, k)
		delete(t.locks, k)
		ns, path := splitLockKey(k)
		out = append(out, &structs.VariableApplyRequest{Op: structs.VarOpLockRelease, LockID: lock.ID,
			Var: &structs.VariableEncrypted{VariableMetadata: structs.VariableMetadata{Namespace: ns, Path: path, ModifyTime: now.UnixNano()}}})
	}
	return out
}

func splitLockKey(k string) (string, string) {
	for i := 0; i < len(k); i++ {
		if k[i] == 0 {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// expireVariableLocks releases the locks whose TTL passed unrenewed.
func (s *Server) expireVariableLocks(ctx context.Context, now time.Time) {
	for _, req := range s.varLocks.expired(now) {
		_, err := s.raftApply(ctx, structs.VariableApplyRequestType, req)
		var c *structs.ErrVariableConflict
		if err != nil && !errors.As(err, &c) {
			s.logger.Warn("could not release an expired variable lock", "namespace", req.Var.Namespace, "path", req.Var.Path, "error", err)
			continue
		}
		s.logger.Info("variable lock expired and released", "namespace", req.Var.Namespace, "path", req.Var.Path)
	}
}
