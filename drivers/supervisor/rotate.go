package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Rotator is an io.Writer over size-rotated files <dir>/<base>.N, Nomad's
// naming: it appends to the highest existing index, moves to N+1 when the
// current file reaches maxBytes, and keeps at most maxFiles, deleting the
// oldest. It is not safe for concurrent use.
//
// The log dir is writable by the task (alloc/logs), which may plant
// symlinks, FIFOs or directories named like the next log file. Every file
// is opened through an os.Root on the log dir with O_NOFOLLOW and must be a
// regular file: task output never lands outside the log dir.
type Rotator struct {
	dir       *os.Root
	base      string
	maxFiles  int
	maxBytes  int64
	ownsDir   bool // Close closes dir
	idx, skip int  // skip counts planted files stepped over in a row
	size      int64
	f         *os.File
}

// NewRotator opens (creating dir if needed) the rotator's current file.
// dir itself is trusted; use NewRotatorIn when a task may have replaced it.
func NewRotator(dir, base string, maxFiles int, maxBytes int64) (*Rotator, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open log dir: %w", err)
	}
	r, err := NewRotatorIn(root, base, maxFiles, maxBytes)
	if err != nil {
		_ = root.Close()
		return nil, err
	}
	r.ownsDir = true
	return r, nil
}

// OpenLogDir opens logDir, which lies below the trusted directory top (the
// allocation directory), without following a symlink out of top: a task
// that replaced alloc/logs with a symlink to /etc gets an error, not /etc.
// An empty top trusts logDir as it is. The caller closes the root.
func OpenLogDir(top, logDir string) (*os.Root, error) {
	if top == "" {
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return nil, fmt.Errorf("create log dir: %w", err)
		}
		return os.OpenRoot(logDir)
	}
	rel, err := filepath.Rel(top, logDir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return nil, fmt.Errorf("log dir %s is not inside %s", logDir, top)
	}
	t, err := os.OpenRoot(top)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", top, err)
	}
	defer t.Close()
	if err := t.MkdirAll(rel, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir %s: %w", logDir, err)
	}
	root, err := t.OpenRoot(rel)
	if err != nil {
		return nil, fmt.Errorf("open log dir %s inside %s: %w", logDir, top, err)
	}
	return root, nil
}

// NewRotatorIn is NewRotator over an open log dir; the rotator does not
// close dir.
func NewRotatorIn(dir *os.Root, base string, maxFiles int, maxBytes int64) (*Rotator, error) {
	if maxFiles < 1 || maxBytes < 1 {
		return nil, fmt.Errorf("log rotator for %s: max files (%d) and max bytes (%d) must be positive", base, maxFiles, maxBytes)
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
func (r *Rotator) Path() string { return filepath.Join(r.dir.Name(), r.name(r.idx)) }

func (r *Rotator) name(i int) string { return r.base + "." + strconv.Itoa(i) }

// indexes lists the indexes of the existing files of this base.
func (r *Rotator) indexes() ([]int, error) {
	d, err := r.dir.Open(".")
	if err != nil {
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return nil, fmt.Errorf("list log dir: %w", err)
	}
	var out []int
	prefix := r.base + "."
	for _, name := range names {
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

// maxSkips bounds how many planted files in a row open steps over.
const maxSkips = 64

// open opens the file of r.idx for appending. A name that is not a regular
// file (a symlink, a FIFO, a directory the task put there) is stepped
// over to the next index, never opened.
func (r *Rotator) open() error {
	for {
		f, err := r.dir.OpenFile(r.name(r.idx), os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o644)
		if err == nil {
			fi, serr := f.Stat()
			if serr != nil {
				_ = f.Close()
				return fmt.Errorf("stat log file: %w", serr)
			}
			if fi.Mode().IsRegular() && !hardLinked(fi) {
				r.f, r.size, r.skip = f, fi.Size(), 0
				return nil
			}
			_ = f.Close()
		} else if st, lerr := r.dir.Lstat(r.name(r.idx)); lerr != nil || (st.Mode().IsRegular() && !hardLinked(st)) {
			return fmt.Errorf("open log file: %w", err)
		}
		// Not a regular file of its own: a symlink, FIFO, directory or a
		// hard link to another file was planted under this name.
		if r.skip++; r.skip > maxSkips {
			return fmt.Errorf("open log file: %d files named like the log in %s are not regular files", maxSkips, r.dir.Name())
		}
		r.idx++
	}
}

// hardLinked reports whether fi is a file with other names (a task may
// hard-link a host file visible to it into the log dir).
func hardLinked(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Nlink > 1
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

// purge deletes files older than the newest maxFiles (removing a planted
// symlink removes the link, never its target).
func (r *Rotator) purge() error {
	idxs, err := r.indexes()
	if err != nil {
		return err
	}
	for _, i := range idxs {
		if i <= r.idx-r.maxFiles {
			if st, err := r.dir.Lstat(r.name(i)); err == nil && st.IsDir() {
				continue // planted by the task; not ours to remove
			}
			if err := r.dir.Remove(r.name(i)); err != nil && !os.IsNotExist(err) {
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

// Close closes the current file (and the log dir when NewRotator opened it).
func (r *Rotator) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	if r.ownsDir {
		_ = r.dir.Close()
	}
	return err
}
