package rawexec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nomadlike/nomadlike/drivers/supervised"
)

// taskConfig is the decoded config block of a raw_exec task.
type taskConfig struct {
	Command string
	Args    []string
}

// knownKeys are the config keys raw_exec accepts.
var knownKeys = []string{"command", "args", "pid_mode", "ipc_mode"}

// ValidateConfig checks a task's config block; every problem names its key.
func (d *Driver) ValidateConfig(cfg map[string]any) error {
	_, err := parseConfig(cfg)
	return err
}

// parseConfig decodes and validates the config block.
func parseConfig(cfg map[string]any) (*taskConfig, error) {
	c := supervised.NewConfigDecoder(cfg)
	var tc taskConfig
	switch v := cfg["command"].(type) {
	case nil:
		c.Add("command", "required")
	case string:
		if strings.TrimSpace(v) == "" {
			c.Add("command", "required")
		}
		tc.Command = v
	default:
		c.Add("command", "must be a string, got %T", v)
	}
	tc.Args = c.List("args")
	for _, key := range []string{"pid_mode", "ipc_mode"} {
		if raw, ok := cfg[key]; ok {
			if s, ok := raw.(string); !ok || (s != "" && s != "private" && s != "host") {
				c.Add(key, `must be "private" or "host"`)
			}
		}
	}
	for _, k := range c.Unknown(knownKeys) {
		c.Add(k, "unknown key: raw_exec accepts command, args, pid_mode and ipc_mode")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return &tc, nil
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
