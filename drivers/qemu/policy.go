package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// pathPolicy says where a task may read disk images, kernels and initrds
// from: its own task dir and the client's image_paths.
type pathPolicy struct {
	TaskDir    string
	ImagePaths []string
}

// resolve turns the config value p of key into the absolute, symlink-free
// path of a regular file the policy allows, or explains why it cannot.
func (pp pathPolicy) resolve(key, p string) (string, error) {
	abs := p
	if !filepath.IsAbs(p) {
		abs = filepath.Join(pp.TaskDir, p)
	}
	abs = filepath.Clean(abs)
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			where := abs
			if !filepath.IsAbs(p) {
				where = fmt.Sprintf("%s (relative to the task dir %s)", abs, pp.TaskDir)
			}
			return "", fmt.Errorf("config.%s %q: %s does not exist; fetch it into the task dir with an artifact block, or fix the path", key, p, where)
		}
		return "", fmt.Errorf("config.%s %q: %w", key, p, err)
	}
	roots := append([]string{pp.TaskDir}, pp.ImagePaths...)
	allowed := false
	for _, root := range roots {
		if root == "" {
			continue
		}
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue // a missing allowed dir allows nothing
		}
		if within(rr, real) {
			allowed = true
			break
		}
	}
	if !allowed {
		shown := real
		if real != abs {
			shown = fmt.Sprintf("%s (through symlinks: %s)", abs, real)
		}
		allowedDesc := "none"
		if len(pp.ImagePaths) > 0 {
			allowedDesc = strings.Join(pp.ImagePaths, ", ")
		}
		return "", fmt.Errorf(`config.%s %q: %s is outside the task dir %s and the client's image_paths (%s); put the file in the task dir (for example with an artifact block), or allow its directory in the client's agent config: plugin "qemu" { config { image_paths = [%q] } }`,
			key, p, shown, pp.TaskDir, allowedDesc, filepath.Dir(real))
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("config.%s %q: %w", key, p, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("config.%s %q: %s is not a regular file (mode %v); point it at the image file itself", key, p, real, fi.Mode().Type())
	}
	return real, nil
}

// within reports whether p is root or inside it; both must be clean and absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, "../"))
}

// flagName returns the name of a qemu flag as the allowlist compares it:
// "-drive" for "-drive", "--drive" and "-drive=file=x"; "" for a value.
func flagName(arg string) string {
	if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
		return ""
	}
	name, _, _ := strings.Cut(arg, "=")
	return "-" + strings.TrimLeft(name, "-")
}

// checkArgs refuses any flag in args that allowlist does not name. Values
// (arguments not starting with "-") follow their flag and are not checked.
// An empty allowlist allows no extra arguments.
func checkArgs(args, allowlist []string) error {
	allowed := map[string]bool{}
	for _, a := range allowlist {
		if n := flagName(a); n != "" {
			allowed[n] = true
		}
	}
	var refused []string
	for _, a := range args {
		n := flagName(a)
		if n != "" && !allowed[n] && !slices.Contains(refused, n) {
			refused = append(refused, n)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	have := "it allows none"
	if len(allowlist) > 0 {
		have = "it allows " + strings.Join(allowlist, ", ")
	}
	return fmt.Errorf(`config.args: flag %s not allowed by this client's args_allowlist (%s); remove them from the job, or have the operator allow them in the agent config: plugin "qemu" { config { args_allowlist = ["%s"] } }`,
		strings.Join(refused, ", flag "), have, strings.Join(refused, `", "`))
}
