package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Alias is the container driver under another name: "docker", so that
// Nomad's docker job specs run unchanged where there is no Docker engine.
// It shares the driver's tasks, image cache and settings; only its name
// (and so its fingerprint attributes, driver.<name>) differs.
type Alias struct {
	*Driver
	name string
}

// Alias returns the driver as name.
func (d *Driver) Alias(name string) *Alias { return &Alias{Driver: d, name: name} }

// Name implements drivers.Driver.
func (a *Alias) Name() string { return a.name }

// Fingerprint is the container driver's, with its attributes renamed.
func (a *Alias) Fingerprint(ctx context.Context) *structs.DriverInfo {
	return renamed(a.Driver.Fingerprint(ctx), a.name, "runs on the container driver (libcontainer): no Docker engine is used")
}

// renamed returns info with its driver.container* attributes as
// driver.<name>*, and note added to a healthy description.
func renamed(info *structs.DriverInfo, name, note string) *structs.DriverInfo {
	attrs := map[string]string{}
	for k, v := range info.Attributes {
		if rest, ok := strings.CutPrefix(k, "driver."+Name); ok {
			k = "driver." + name + rest
		}
		attrs[k] = v
	}
	info.Attributes = attrs
	if info.Healthy {
		info.HealthDescription = "Healthy; " + note
	}
	return info
}

// ExecName is the name of Nomad's isolated exec driver.
const ExecName = "exec"

// DefaultChrootEnv is Nomad's default chroot_env: the host directories an
// exec task sees (read-only) at the same paths.
var DefaultChrootEnv = map[string]string{
	"/bin": "/bin", "/etc": "/etc", "/lib": "/lib", "/lib32": "/lib32", "/lib64": "/lib64",
	"/run/resolvconf": "/run/resolvconf", "/sbin": "/sbin", "/usr": "/usr",
}

// Exec is Nomad's exec driver on the container driver: the task's command
// runs in its own namespaces and cgroups through libcontainer, in a root
// built from host directories (chroot_env, mounted read-only; no image),
// as the task's user (nobody by default, as Nomad), with the alloc, local
// and secrets dirs mounted as for a container.
type Exec struct {
	*Driver
	chroot map[string]string
}

// Exec returns the exec driver over d; chroot maps host directories to
// their paths in the task (nil: DefaultChrootEnv).
func (d *Driver) Exec(chroot map[string]string) *Exec {
	if chroot == nil {
		chroot = DefaultChrootEnv
	}
	return &Exec{Driver: d, chroot: chroot}
}

// Name implements drivers.Driver.
func (e *Exec) Name() string { return ExecName }

// Fingerprint is the container driver's, as driver.exec.
func (e *Exec) Fingerprint(ctx context.Context) *structs.DriverInfo {
	return renamed(e.Driver.Fingerprint(ctx), ExecName, "isolated with libcontainer in a root of host directories (chroot_env)")
}

// execKeys are the config keys of Nomad's exec driver this driver runs.
var execKeys = []string{"command", "args", "cap_add", "cap_drop", "work_dir", "pid_mode", "ipc_mode"}

// ValidateConfig checks an exec task's config block.
func (e *Exec) ValidateConfig(cfg map[string]any) error {
	_, err := parseExecConfig(cfg)
	return err
}

func parseExecConfig(cfg map[string]any) (*taskConfig, error) {
	c := supervised.NewConfigDecoder(cfg)
	tc := &taskConfig{Command: c.String("command"), Args: c.List("args"), CapAdd: c.List("cap_add"), CapDrop: c.List("cap_drop"),
		WorkDir: c.String("work_dir")}
	if tc.Command == "" {
		c.Add("command", "required: the command to run, e.g. \"/bin/sleep\" (a path in the task's root: the host's /bin, /usr, ... and local/)")
	}
	if tc.WorkDir != "" && !path.IsAbs(tc.WorkDir) {
		c.Add("work_dir", "%q must be an absolute path inside the task", tc.WorkDir)
	}
	for key, caps := range map[string][]string{"cap_add": tc.CapAdd, "cap_drop": tc.CapDrop} {
		for _, cp := range caps {
			if _, err := normalizeCap(cp); err != nil {
				c.Add(key, "%v", err)
			}
		}
	}
	for _, k := range []string{"pid_mode", "ipc_mode"} {
		switch m := c.String(k); m {
		case "", "private":
		default:
			c.Add(k, "%q is not supported: exec tasks have their own %s namespace (\"private\"); remove it", m, strings.TrimSuffix(k, "_mode"))
		}
	}
	for _, k := range c.Unknown(execKeys) {
		c.Add(k, "unknown key: the exec driver accepts %s", strings.Join(execKeys, ", "))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return tc, nil
}

// execImageID is the image record ID of exec tasks (no image: a root of
// host directories).
const execImageID = "exec"

// execPath is the PATH of an exec task.
const execPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// StartTask runs the exec task in a container whose root is an empty
// directory holding the chroot_env directories, bind-mounted read-only.
func (e *Exec) StartTask(ctx context.Context, cfg *drivers.TaskConfig) (*drivers.TaskHandle, error) {
	if reason := e.unhealthy(); reason != "" {
		return nil, &structs.CodedError{Code: 400, Msg: fmt.Sprintf("start task %q: the exec driver cannot run tasks here: %s", cfg.ID, reason)}
	}
	if err := e.tasks.Admit(cfg); err != nil {
		return nil, err
	}
	if e.cfg.CacheDir == "" {
		return nil, fmt.Errorf("start task %q: the exec driver has no cache dir; the agent must set Config.CacheDir", cfg.ID)
	}
	began := time.Now()
	tc, err := parseExecConfig(cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	name := cfg.User
	if name == "" {
		name = "nobody" // Nomad's default user of exec tasks
	}
	// The task's /etc is the host's (chroot_env): resolve the user there,
	// before the root is mounted.
	if tc.User, err = hostUser(name); err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	if err := ownTaskDirs(cfg.TaskDir, tc.User); err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	root, binds, err := e.chrootRoot()
	if err != nil {
		return nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	rec := &imageRecord{ID: execImageID, Source: "chroot_env", RootfsDir: root, Config: imageConfig{Env: []string{execPath}}}
	return e.start(ctx, cfg, tc, rec, binds, began)
}

// chrootRoot returns the (shared, read-only) lower dir of exec tasks: an
// empty directory with a mount point for each chroot_env target that
// exists on the host, and the read-only binds onto them.
func (e *Exec) chrootRoot() (string, []specs.Mount, error) {
	dsts := make([]string, 0, len(e.chroot))
	for _, dst := range e.chroot {
		dsts = append(dsts, dst)
	}
	slices.Sort(dsts)
	sum := sha256.Sum256([]byte(strings.Join(dsts, "\x00")))
	root := filepath.Join(e.cfg.CacheDir, "exec-root", hex.EncodeToString(sum[:8]))
	srcs := make([]string, 0, len(e.chroot))
	for src := range e.chroot {
		srcs = append(srcs, src)
	}
	slices.Sort(srcs)
	var binds []specs.Mount
	for _, src := range srcs {
		dst := e.chroot[src]
		st, err := os.Stat(src)
		if err != nil {
			continue // not on this host (e.g. /lib32)
		}
		if !path.IsAbs(dst) || strings.Contains(dst, "..") {
			return "", nil, fmt.Errorf("chroot_env: %q is not an absolute path inside the task", dst)
		}
		mp := filepath.Join(root, dst)
		if st.IsDir() {
			err = os.MkdirAll(mp, 0o755)
		} else if err = os.MkdirAll(filepath.Dir(mp), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(mp, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
				err = f.Close()
			}
		}
		if err != nil {
			return "", nil, fmt.Errorf("chroot_env: prepare %s: %w", dst, err)
		}
		binds = append(binds, bind(src, dst, true))
	}
	for _, d := range []string{"tmp", "proc", "dev", "sys", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", nil, fmt.Errorf("exec root: %w", err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return "", nil, fmt.Errorf("exec root: %w", err)
	}
	return root, binds, nil
}

// hostUser resolves a user name (or uid[:gid]) in the host's user database
// to "uid:gid".
func hostUser(name string) (string, error) {
	if name == "" || strings.ContainsAny(name[:1], "0123456789") {
		return name, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("user %q: %w; set the task's user to one that exists on the client (exec tasks see the host's /etc/passwd)", name, err)
	}
	return u.Uid + ":" + u.Gid, nil
}

// ownTaskDirs gives the task's user ("uid:gid") its local and secrets
// dirs, as Nomad does for exec tasks, so that a task running as nobody can
// write its own files. Lchown: a symlink a task left there is not followed.
func ownTaskDirs(taskDir, uidGid string) error {
	u, g, ok := strings.Cut(uidGid, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		return nil // a user the container resolves itself
	}
	for _, d := range []string{"local", "secrets"} {
		p := filepath.Join(taskDir, d)
		if st, err := os.Lstat(p); err != nil || !st.IsDir() {
			continue
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("give %s to the task's user %s: %w", p, uidGid, err)
		}
	}
	return nil
}
