package allocrunner

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// unpack extracts the archive in f into dest. Every entry is created
// through dest (an os.Root), so neither a "../" name nor a symlink (one the
// archive made earlier, or one a task planted) can put a file outside it;
// and a symlink entry is refused unless its target, resolved from where the
// link really lands, stays inside dest. Errors name the entry.
func unpack(kind string, f *os.File, dest *os.Root) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if kind == "zip" {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return unzip(f, st.Size(), dest)
	}
	var r io.Reader = f
	if kind == "tgz" {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	destReal, err := realPath(dest, ".")
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		mode := os.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = dest.MkdirAll(name, mode|0o700)
		case tar.TypeReg:
			err = writeEntry(dest, name, mode, tr)
		case tar.TypeSymlink:
			err = linkEntry(dest, destReal, name, hdr.Linkname)
		default:
			// Hard links, devices and fifos are skipped, as go-getter does for devices.
		}
		if err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

func unzip(f *os.File, size int64, dest *os.Root) error {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		name, err := entryName(zf.Name)
		if err != nil {
			return err
		}
		if zf.FileInfo().IsDir() {
			if err := dest.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("entry %q: %w", zf.Name, err)
			}
			continue
		}
		if !zf.Mode().IsRegular() {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		err = writeEntry(dest, name, zf.Mode().Perm(), rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("entry %q: %w", zf.Name, err)
		}
	}
	return nil
}

// entryName cleans an archive entry's name, refusing absolute names and
// names that climb out ("../x").
func entryName(name string) (string, error) {
	c := filepath.Clean(name)
	if filepath.IsAbs(name) || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("entry %q would be written outside the destination", name)
	}
	return c, nil
}

func writeEntry(dest *os.Root, name string, mode os.FileMode, r io.Reader) error {
	if dir := filepath.Dir(name); dir != "." {
		if err := dest.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if mode == 0 {
		mode = 0o644
	}
	f, err := dest.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// linkEntry creates the symlink name -> target inside dest. The target must
// be relative, may climb ("..") only at its start, and must stay inside
// dest when resolved from the directory the link really lands in (which an
// earlier symlink entry may have redirected): then every symlink in dest
// resolves inside it, however they chain.
func linkEntry(dest *os.Root, destReal, name, target string) error {
	if filepath.IsAbs(target) {
		return fmt.Errorf("links to %q, an absolute path; archive symlinks must be relative and stay inside the destination", target)
	}
	if climbsMidway(target) {
		return fmt.Errorf("links to %q, which climbs (\"..\") after descending; archive symlinks may climb only at their start", target)
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := dest.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	parent, err := realPath(dest, dir)
	if err != nil {
		return err
	}
	if !inside(destReal, filepath.Join(parent, target)) {
		return fmt.Errorf("links to %q, outside the destination", target)
	}
	return dest.Symlink(target, name)
}

// climbsMidway reports whether a ".." component follows another component.
func climbsMidway(target string) bool {
	down := false
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if down {
				return true
			}
		default:
			down = true
		}
	}
	return false
}

// realPath returns the real path of the directory rel inside root (as
// the kernel resolved it when opening it through root).
func realPath(root *os.Root, rel string) (string, error) {
	d, err := root.Open(rel)
	if err != nil {
		return "", err
	}
	defer d.Close()
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(d.Fd())))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", rel, err)
	}
	return p, nil
}
