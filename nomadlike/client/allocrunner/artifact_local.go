package allocrunner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ArtifactConfig is the client's artifact block, the part of Nomad's that
// governs local sources:
//
//	client {
//	  artifact {
//	    disable_filesystem_isolation     = false
//	    filesystem_isolation_extra_paths = ["d:r:/srv/artifacts", "f:r:/etc/app.tgz"]
//	  }
//	}
//
// Nomad fetches artifacts in a sandbox that can read only the task's own
// directories; an artifact source that is a host path ("/etc/shadow",
// "file:///root/...") can be read only where an extra path grants it (kind
// "d" a directory and everything below it, "f" one file; the mode must
// include "r"), or anywhere when isolation is disabled.
type ArtifactConfig struct {
	DisableFilesystemIsolation bool
	// ExtraPaths are the parsed filesystem_isolation_extra_paths.
	ExtraPaths []IsolationPath
}

// IsolationPath is one "<kind>:<mode>:<path>" of filesystem_isolation_extra_paths.
type IsolationPath struct {
	Dir  bool   // kind "d"; "f" otherwise
	Mode string // a subset of "rwcx"
	Path string // absolute, cleaned
}

// ParseIsolationPath parses "<kind>:<mode>:<path>": kind "f" or "d", mode
// zero or more of r, w, c, x, and an absolute path.
func ParseIsolationPath(s string) (IsolationPath, error) {
	kind, rest, ok1 := strings.Cut(s, ":")
	mode, p, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return IsolationPath{}, fmt.Errorf("%q must be \"<kind>:<mode>:<path>\", for example \"d:r:/srv/artifacts\"", s)
	}
	if kind != "f" && kind != "d" {
		return IsolationPath{}, fmt.Errorf("%q: kind %q must be \"f\" (a file) or \"d\" (a directory)", s, kind)
	}
	if strings.Trim(mode, "rwcx") != "" {
		return IsolationPath{}, fmt.Errorf("%q: mode %q may hold only r, w, c and x", s, mode)
	}
	if !filepath.IsAbs(p) {
		return IsolationPath{}, fmt.Errorf("%q: path %q must be absolute", s, p)
	}
	return IsolationPath{Dir: kind == "d", Mode: mode, Path: filepath.Clean(p)}, nil
}

// errLocalSourceRefused is a local source no setting allows.
var errLocalSourceRefused = errors.New("local artifact source refused")

// openLocal opens the host file p for an artifact if the config allows it.
// The open goes through an os.Root on the granting directory (or the
// granted file's directory), so a symlink inside it cannot lead out.
func (c ArtifactConfig) openLocal(p string) (io.ReadCloser, error) {
	p = filepath.Clean(p)
	if c.DisableFilesystemIsolation {
		return os.Open(p)
	}
	for _, x := range c.ExtraPaths {
		if !strings.Contains(x.Mode, "r") {
			continue
		}
		var dir, rel string
		switch {
		case x.Dir && (p == x.Path || strings.HasPrefix(p, strings.TrimSuffix(x.Path, "/")+"/")):
			dir, rel = x.Path, strings.TrimPrefix(strings.TrimPrefix(p, x.Path), "/")
		case !x.Dir && p == x.Path:
			dir, rel = filepath.Dir(p), filepath.Base(p)
		default:
			continue
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		f, err := root.Open(rel)
		if err != nil {
			return nil, err
		}
		if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("%s is not a regular file", p)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: %s is outside the paths this client lets artifacts read; "+
		"to allow it, add its directory to the client's config: client { artifact { filesystem_isolation_extra_paths = [\"d:r:%s\"] } }, "+
		"or serve the file over http(s)", errLocalSourceRefused, p, filepath.Dir(p))
}
