package rawexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// taskConfig is the decoded config block of a raw_exec task.
type taskConfig struct {
	Command string
	Args    []string
}

// knownKeys are the config keys raw_exec accepts.
var knownKeys = map[string]bool{"command": true, "args": true, "pid_mode": true, "ipc_mode": true}

// ValidateConfig checks a task's config block; every problem names its key.
func (d *Driver) ValidateConfig(cfg map[string]any) error {
	_, err := parseConfig(cfg)
	return err
}

// parseConfig decodes and validates the config block.
func parseConfig(cfg map[string]any) (*taskConfig, error) {
	var problems []structs.FieldError
	add := func(key, format string, args ...any) {
		problems = append(problems, structs.FieldError{Field: "config." + key, Msg: fmt.Sprintf(format, args...)})
	}
	var tc taskConfig
	switch v := cfg["command"].(type) {
	case nil:
		add("command", "required")
	case string:
		if strings.TrimSpace(v) == "" {
			add("command", "required")
		}
		tc.Command = v
	default:
		add("command", "must be a string, got %T", v)
	}
	if raw, ok := cfg["args"]; ok && raw != nil {
		args, ok := stringList(raw)
		if !ok {
			add("args", "must be a list of strings")
		}
		tc.Args = args
	}
	for _, key := range []string{"pid_mode", "ipc_mode"} {
		if raw, ok := cfg[key]; ok {
			if s, ok := raw.(string); !ok || (s != "" && s != "private" && s != "host") {
				add(key, `must be "private" or "host"`)
			}
		}
	}
	var unknown []string
	for k := range cfg {
		if !knownKeys[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		add(k, "unknown key: raw_exec accepts command, args, pid_mode and ipc_mode")
	}
	if len(problems) > 0 {
		return nil, &structs.ValidationError{Problems: problems}
	}
	return &tc, nil
}

// stringList accepts []string or a []any of strings (as JSON and HCL decode).
func stringList(v any) ([]string, bool) {
	switch l := v.(type) {
	case []string:
		return append([]string(nil), l...), true
	case []any:
		out := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	default:
		return nil, false
	}
}

// resolveCommand finds the program to run, as Nomad does: an absolute path
// as is; a path with a slash relative to the task dir; a bare name in
// <task dir>/local, then <task dir>, then pathEnv.
func resolveCommand(command, taskDir, pathEnv string) (string, error) {
	if filepath.IsAbs(command) {
		if err := checkExecutable(command); err != nil {
			return "", fmt.Errorf("config.command %q: %w", command, err)
		}
		return command, nil
	}
	if strings.Contains(command, "/") {
		p := filepath.Join(taskDir, command)
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("config.command %q (relative to the task dir, %s): %w", command, p, err)
		}
		return p, nil
	}
	var unusable []string
	try := func(dir string) (string, bool) {
		p := filepath.Join(dir, command)
		err := checkExecutable(p)
		if err == nil {
			return p, true
		}
		if !errors.Is(err, errNoFile) {
			unusable = append(unusable, fmt.Sprintf("%s: %v", p, err))
		}
		return "", false
	}
	for _, dir := range []string{filepath.Join(taskDir, "local"), taskDir} {
		if p, ok := try(dir); ok {
			return p, nil
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p, ok := try(dir); ok {
			return p, nil
		}
	}
	msg := fmt.Sprintf("config.command %q not found: looked in %s, %s and PATH=%q", command, filepath.Join(taskDir, "local"), taskDir, pathEnv)
	if len(unusable) > 0 {
		msg += "; found but unusable: " + strings.Join(unusable, "; ")
	}
	return "", errors.New(msg + "; use an absolute path or install it")
}

// errNoFile is checkExecutable's answer for a missing file.
var errNoFile = errors.New("no such file")

// checkExecutable reports why path cannot be executed, if it cannot.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errNoFile
		}
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("not executable (mode %v)", fi.Mode().Perm())
	}
	return nil
}
