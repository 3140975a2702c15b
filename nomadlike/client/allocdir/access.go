package allocdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Safe read access to an allocation directory, for the logs API and the
// file-system API (/v1/client/fs/...). Paths are slash-separated and
// relative to the allocation directory, as Nomad's fs API takes them
// ("alloc/logs/web.stdout.0", "web/local/app.conf"); a leading "/" is
// ignored. Every lookup goes through an os.Root opened on the allocation
// directory, so neither ".." nor a symlink a task planted (alloc/data/x ->
// /etc/shadow) resolves to anything outside it; symlinks that stay inside
// are followed.
//
// Errors: a missing file wraps fs.ErrNotExist; a path that leaves the
// allocation directory wraps ErrOutside; opening anything but a regular
// file wraps ErrNotRegular. Callers map them to 404, 400 and 400.

// ErrOutside is returned for a path that resolves outside the allocation
// directory (through ".." or a symlink).
var ErrOutside = errors.New("path resolves outside the allocation directory")

// ErrNotRegular is returned by Open for a directory, device, pipe or socket.
var ErrNotRegular = errors.New("not a regular file")

// cleanRel turns an API path into a path relative to the allocation
// directory; "" and "/" are the directory itself (".").
func cleanRel(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%q: %w", p, ErrOutside)
	}
	rel := path.Clean(strings.TrimLeft(p, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%q: %w", p, ErrOutside)
	}
	return rel, nil
}

// wrapErr classifies an os.Root error (see the package doc on errors).
func wrapErr(p string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotRegular) {
		return err
	}
	// os.Root reports an escape with an unexported error; ELOOP comes from
	// a symlink loop or a final symlink it refuses to follow.
	var pe *fs.PathError
	if errors.As(err, &pe) && (pe.Err.Error() == "path escapes from parent" || errors.Is(pe.Err, syscall.ELOOP)) {
		return fmt.Errorf("%q: %w", p, ErrOutside)
	}
	return err
}

// withRoot runs fn with p made relative (cleanRel) and an os.Root on the
// allocation directory, so nothing fn does can leave it.
func withRoot[T any](d *AllocDir, p string, fn func(root *os.Root, rel string) (T, error)) (T, error) {
	var zero T
	rel, err := cleanRel(p)
	if err != nil {
		return zero, err
	}
	root, err := os.OpenRoot(d.Dir)
	if err != nil {
		return zero, err
	}
	defer root.Close()
	return fn(root, rel)
}

// Stat returns the FileInfo of p, following symlinks that stay inside the
// allocation directory.
func (d *AllocDir) Stat(p string) (fs.FileInfo, error) {
	return withRoot(d, p, func(root *os.Root, rel string) (fs.FileInfo, error) {
		st, err := root.Stat(rel)
		return st, wrapErr(p, err)
	})
}

// Lstat is Stat without following a final symlink (a symlink is reported
// as one, whatever it points at).
func (d *AllocDir) Lstat(p string) (fs.FileInfo, error) {
	return withRoot(d, p, func(root *os.Root, rel string) (fs.FileInfo, error) {
		st, err := root.Lstat(rel)
		return st, wrapErr(p, err)
	})
}

// ReadDir lists the directory p, sorted by name. Entries are as Lstat sees
// them (a symlink is listed as a symlink).
func (d *AllocDir) ReadDir(p string) ([]fs.DirEntry, error) {
	return withRoot(d, p, func(root *os.Root, rel string) ([]fs.DirEntry, error) {
		f, err := root.Open(rel)
		if err != nil {
			return nil, wrapErr(p, err)
		}
		defer f.Close()
		entries, err := f.ReadDir(-1)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		return entries, nil
	})
}

// Open opens the regular file p for reading. It never blocks on a named
// pipe a task planted, and refuses anything but a regular file with
// ErrNotRegular. The caller closes the file.
func (d *AllocDir) Open(p string) (*os.File, error) {
	return withRoot(d, p, func(root *os.Root, rel string) (*os.File, error) {
		return openRegular(root, rel, p)
	})
}

// OpenLog opens alloc/logs/<name> for reading, as Open (name is one path
// element).
func (d *AllocDir) OpenLog(name string) (*os.File, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("log file name %q: %w", name, ErrOutside)
	}
	return d.Open("alloc/logs/" + name)
}

// LogIndexes returns the indexes N of the files alloc/logs/<base>.N
// (base is "<task>.<type>"), ascending. A missing log dir is no files.
func (d *AllocDir) LogIndexes(base string) ([]int, error) {
	entries, err := d.ReadDir("alloc/logs")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), base+"."); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// openRegular opens rel inside root read-only, non-blocking (a FIFO would
// otherwise block the open), and checks it is a regular file.
func openRegular(root *os.Root, rel, p string) (*os.File, error) {
	f, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, wrapErr(p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is a %s: %w", p, kind(st.Mode()), ErrNotRegular)
	}
	return f, nil
}
