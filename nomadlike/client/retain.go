package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Log retention (beyond Nomad, Nomad #18216): when the client garbage
// collects a terminal allocation it first copies the tail of each task's
// stdout and stderr into DataDir/retained_logs/<alloc>/alloc/logs/
// <task>.<type>.0, outside every allocation directory, so that the logs API
// keeps serving them. The copy reads the allocation directory only through
// its os.Root accessors and refuses anything but a regular file that is not
// a symlink: a task cannot make the agent copy a file from elsewhere. The
// area is pruned, oldest allocation first, to LogsRetentionConfig.MaxMB and
// MaxAge after every copy and every GC interval.

// LogsRetentionConfig is client { logs_retention { enabled, max_mb, max_age } }.
type LogsRetentionConfig struct {
	// Disabled turns retention off (enabled = false).
	Disabled bool
	// MaxMB caps the whole retention area in MiB (max_mb, 100); one
	// allocation keeps at most the last MaxMB of its logs, shared equally
	// by its log streams (each task's stdout and stderr).
	MaxMB int
	// MaxAge is how long retained logs are kept after collection
	// (max_age, 24h).
	MaxAge time.Duration
}

// Defaults of LogsRetentionConfig.
const (
	DefaultLogsRetentionMaxMB  = 100
	DefaultLogsRetentionMaxAge = 24 * time.Hour
)

func (r LogsRetentionConfig) withDefaults() LogsRetentionConfig {
	if r.MaxMB <= 0 {
		r.MaxMB = DefaultLogsRetentionMaxMB
	}
	if r.MaxAge <= 0 {
		r.MaxAge = DefaultLogsRetentionMaxAge
	}
	return r
}

// retainedMeta is retained.json in an allocation's retention directory.
type retainedMeta struct {
	AllocID    string
	RetainedAt time.Time
	// Tasks are the allocation's task names.
	Tasks []string
	// Dropped is, per file name, how many older bytes did not fit.
	Dropped map[string]int64 `json:",omitempty"`
}

// retention is the client's retention area. The zero value is unusable;
// see newRetention.
type retention struct {
	root string
	cfg  LogsRetentionConfig
	now  func() time.Time
	mu   sync.Mutex
}

func newRetention(dataDir string, cfg LogsRetentionConfig, now func() time.Time) *retention {
	return &retention{root: filepath.Join(dataDir, "retained_logs"), cfg: cfg.withDefaults(), now: now}
}

// dir is the retention directory of allocID, as an AllocDir so the logs
// streamer reads it like a live one.
func (r *retention) dir(allocID string) *allocdir.AllocDir { return allocdir.New(r.root, allocID) }

// retain copies the tail of every task log of the allocation in src into
// the retention area, then prunes it.
func (r *retention) retain(allocID string, tasks []string, src *allocdir.AllocDir) error {
	if r.cfg.Disabled {
		return nil
	}
	if err := allocdir.CheckTaskName(allocID); err != nil {
		return fmt.Errorf("retain logs: allocation ID %q: %w", allocID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, err := src.ReadDir("alloc/logs")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("retain logs of allocation %s: list alloc/logs: %w", structs.ShortID(allocID), err)
	}
	streams := map[string][]int{} // "<task>.<type>" -> file indexes
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // a symlink, pipe or directory a task planted
		}
		name := e.Name()
		dot := strings.LastIndexByte(name, '.')
		if dot < 0 {
			continue
		}
		n, err := strconv.Atoi(name[dot+1:])
		base := name[:dot]
		if err != nil || n < 0 || !(strings.HasSuffix(base, ".stdout") || strings.HasSuffix(base, ".stderr")) {
			continue
		}
		streams[base] = append(streams[base], n)
	}
	dst := r.dir(allocID)
	if err := os.RemoveAll(dst.Dir); err != nil {
		return fmt.Errorf("retain logs: clear %s: %w", dst.Dir, err)
	}
	if err := os.MkdirAll(dst.LogDir(), 0o700); err != nil {
		return fmt.Errorf("retain logs: %w", err)
	}
	meta := retainedMeta{AllocID: allocID, RetainedAt: r.now().UTC(), Tasks: tasks, Dropped: map[string]int64{}}
	limit := (int64(r.cfg.MaxMB) << 20) / int64(max(1, len(streams)))
	var errs []error
	for base, idxs := range streams {
		slices.Sort(idxs)
		dropped, err := copyTail(src, base, idxs, filepath.Join(dst.LogDir(), base+".0"), limit)
		if err != nil {
			errs = append(errs, err)
		}
		if dropped > 0 {
			meta.Dropped[base+".0"] = dropped
		}
	}
	b, _ := json.Marshal(meta)
	if err := os.WriteFile(filepath.Join(dst.Dir, "retained.json"), b, 0o600); err != nil {
		errs = append(errs, err)
	}
	r.pruneLocked()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retain logs of allocation %s: %w", structs.ShortID(allocID), err)
	}
	return nil
}

// copyTail writes the last limit bytes of src's files alloc/logs/base.N
// (idxs ascending) into the new file to, and returns how many older bytes
// were left out. Each file is opened through the allocation directory's
// os.Root, refused when it is a symlink, and read only up to the size it
// had when listed (a task still writing cannot grow the copy).
func copyTail(src *allocdir.AllocDir, base string, idxs []int, to string, limit int64) (int64, error) {
	type part struct {
		f    *os.File
		size int64
	}
	var parts []part
	defer func() {
		for _, p := range parts {
			p.f.Close()
		}
	}()
	var total int64
	for _, idx := range idxs {
		name := base + "." + strconv.Itoa(idx)
		f, err := src.OpenLog(name)
		if err != nil {
			continue
		}
		// What was opened must be the file itself, not a symlink's target
		// (checked after the open, so a swap in between is caught too).
		st, err := f.Stat()
		lst, lerr := src.Lstat("alloc/logs/" + name)
		if err != nil || lerr != nil || !lst.Mode().IsRegular() || !os.SameFile(st, lst) {
			f.Close()
			continue
		}
		parts = append(parts, part{f, st.Size()})
		total += st.Size()
	}
	skip := max(0, total-limit)
	dropped := skip
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		if skip >= p.size {
			skip -= p.size
			continue
		}
		if _, err := io.Copy(out, io.NewSectionReader(p.f, skip, p.size-skip)); err != nil {
			out.Close()
			return dropped, fmt.Errorf("copy %s: %w", p.f.Name(), err)
		}
		skip = 0
	}
	return dropped, out.Close()
}

// meta reads allocID's retained.json; ok is false when nothing is retained.
func (r *retention) meta(allocID string) (retainedMeta, bool) {
	if allocdir.CheckTaskName(allocID) != nil {
		return retainedMeta{}, false
	}
	m, ok := r.metaAny(allocID)
	return m, ok && !r.expired(m.RetainedAt)
}

func (r *retention) expired(at time.Time) bool { return r.now().Sub(at) > r.cfg.MaxAge }

// prune removes retained logs older than MaxAge, then the oldest until the
// area fits MaxMB.
func (r *retention) prune() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked()
}

func (r *retention) pruneLocked() {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		return
	}
	type held struct {
		id   string
		at   time.Time
		size int64
	}
	var all []held
	var total int64
	for _, e := range entries {
		m, ok := r.metaAny(e.Name())
		if !ok || r.expired(m.RetainedAt) {
			os.RemoveAll(filepath.Join(r.root, e.Name()))
			continue
		}
		h := held{id: e.Name(), at: m.RetainedAt, size: dirSize(filepath.Join(r.root, e.Name(), "alloc", "logs"))}
		all = append(all, h)
		total += h.size
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	limit := int64(r.cfg.MaxMB) << 20
	for i := 0; total > limit && i < len(all); i++ {
		os.RemoveAll(filepath.Join(r.root, all[i].id))
		total -= all[i].size
	}
}

// metaAny is meta without the age check.
func (r *retention) metaAny(allocID string) (retainedMeta, bool) {
	var m retainedMeta
	b, err := os.ReadFile(filepath.Join(r.root, allocID, "retained.json"))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

// dirSize sums the sizes of the regular files below dir (the logs: what
// max_mb counts).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
