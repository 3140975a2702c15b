package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Rotator is an io.Writer over size-rotated files <dir>/<base>.N, Nomad's
// naming: it appends to the highest existing index, moves to N+1 when the
// current file reaches maxBytes, and keeps at most maxFiles, deleting the
// oldest. It is not safe for concurrent use.
type Rotator struct {
	dir, base string
	maxFiles  int
	maxBytes  int64

	idx  int
	size int64
	f    *os.File
}

// NewRotator opens (creating dir if needed) the rotator's current file.
func NewRotator(dir, base string, maxFiles int, maxBytes int64) (*Rotator, error) {
	if maxFiles < 1 || maxBytes < 1 {
		return nil, fmt.Errorf("log rotator for %s: max files (%d) and max bytes (%d) must be positive", base, maxFiles, maxBytes)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	r := &Rotator{dir: dir, base: base, maxFiles: maxFiles, maxBytes: maxBytes}
	idx, err := r.highestIndex()
	if err != nil {
		return nil, err
	}
	r.idx = idx
	if err := r.open(); err != nil {
		return nil, err
	}
	if r.size >= r.maxBytes {
		if err := r.rotate(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Path returns the file currently written.
func (r *Rotator) Path() string { return r.path(r.idx) }

func (r *Rotator) path(i int) string {
	return filepath.Join(r.dir, r.base+"."+strconv.Itoa(i))
}

// indexes lists the indexes of the existing files of this base.
func (r *Rotator) indexes() ([]int, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	var out []int
	prefix := r.base + "."
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		n, err := strconv.Atoi(name[len(prefix):])
		if err != nil || n < 0 {
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

func (r *Rotator) highestIndex() (int, error) {
	idxs, err := r.indexes()
	if err != nil {
		return 0, err
	}
	max := 0
	for _, i := range idxs {
		if i > max {
			max = i
		}
	}
	return max, nil
}

func (r *Rotator) open() error {
	f, err := os.OpenFile(r.path(r.idx), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	r.f, r.size = f, fi.Size()
	return nil
}

func (r *Rotator) rotate() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close log file %s: %w", r.f.Name(), err)
	}
	r.idx++
	if err := r.open(); err != nil {
		return err
	}
	return r.purge()
}

// purge deletes files older than the newest maxFiles.
func (r *Rotator) purge() error {
	idxs, err := r.indexes()
	if err != nil {
		return err
	}
	for _, i := range idxs {
		if i <= r.idx-r.maxFiles {
			if err := os.Remove(r.path(i)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("delete old log file: %w", err)
			}
		}
	}
	return nil
}

// Write writes p, splitting it across files at the size limit.
func (r *Rotator) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := r.maxBytes - r.size
		if room <= 0 {
			if err := r.rotate(); err != nil {
				return written, err
			}
			continue
		}
		chunk := p
		if int64(len(chunk)) > room {
			chunk = p[:room]
		}
		n, err := r.f.Write(chunk)
		written += n
		r.size += int64(n)
		if err != nil {
			return written, fmt.Errorf("write log file %s: %w", r.f.Name(), err)
		}
		p = p[n:]
	}
	return written, nil
}

// Close closes the current file.
func (r *Rotator) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
