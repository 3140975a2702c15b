package container

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// defaultCaps are the capabilities a container gets unless cap_add or
// cap_drop change them: Docker's default set without CAP_NET_RAW, as
// Nomad's docker driver allows by default. Containers share the host's
// network, where raw sockets would let a task forge packets from the host's
// addresses and sniff its traffic; cap_add = ["NET_RAW"] gives it back
// where the client's allow_caps lists it.
var defaultCaps = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// defaultPath is PATH when neither the image nor the task sets one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Paths inside the container, as Nomad's docker driver mounts them.
const (
	allocMount   = "/alloc"
	localMount   = "/local"
	secretsMount = "/secrets"
)

// workloadConfig is what the supervisor needs to run the container
// (supervisor.Spec.WorkloadConfig).
type workloadConfig struct {
	ContainerID string
	// StateRoot is libcontainer's state root (the container's state is in
	// StateRoot/ContainerID).
	StateRoot string
	// LowerDirs are the image's layers, topmost first; UpperDir and WorkDir
	// the task's own overlayfs dirs; Rootfs the merged mount point.
	LowerDirs []string
	UpperDir  string
	WorkDir   string
	Rootfs    string
	// User is resolved against the image's /etc/passwd once it is mounted.
	User string
	// MemoryLimitMB is the hard memory limit, for the OOM message.
	MemoryLimitMB int64
	Spec          *specs.Spec
	// Volumes are the config.volumes mounts of Spec whose sources the
	// supervisor resolves inside the allocation dir at mount time.
	Volumes []confinedVolume `json:",omitempty"`
	// VolumeStage is the private dir (in the task's state dir) where the
	// supervisor stages them.
	VolumeStage string `json:",omitempty"`
	// Warnings are written to the task's stderr log when it starts (they
	// also reach the client as task events).
	Warnings []string `json:",omitempty"`
}

var idUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.+-]`)

// containerID is a libcontainer id (letters, digits, _ . + -) for a task
// id, unique per task.
func containerID(taskID string) string {
	sum := sha256.Sum256([]byte(taskID))
	base := idUnsafe.ReplaceAllString(strings.ReplaceAll(taskID, "/", "."), "_")
	if len(base) > 64 {
		base = base[:64]
	}
	return "nl-" + base + "-" + hex.EncodeToString(sum[:4])
}

// argv combines the image's Entrypoint and Cmd with the task's overrides as
// Docker (and Nomad's docker driver) does: entrypoint replaces the image's
// Entrypoint and then the image's Cmd is dropped; command (+ args) or args
// alone replace Cmd.
func argv(tc *taskConfig, img imageConfig) ([]string, error) {
	entry, cmd := img.Entrypoint, img.Cmd
	if len(tc.Entrypoint) > 0 {
		entry, cmd = tc.Entrypoint, nil
	}
	switch {
	case tc.Command != "":
		cmd = append([]string{tc.Command}, tc.Args...)
	case len(tc.Args) > 0:
		cmd = tc.Args
	}
	out := append(slices.Clone(entry), cmd...)
	if len(out) == 0 {
		return nil, errors.New("config.command: required: the image defines no Entrypoint or Cmd, so set command (and args)")
	}
	return out, nil
}

// containerEnv merges the image's environment with the task's: the task
// wins, except that the host's PATH never replaces the image's, and the
// NOMAD_*_DIR variables point at the in-container paths.
func containerEnv(imgEnv []string, taskEnv map[string]string) []string {
	env := map[string]string{}
	for _, kv := range imgEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	_, imagePath := env["PATH"]
	for k, v := range taskEnv {
		if k == "PATH" && imagePath {
			continue
		}
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	env["NOMAD_ALLOC_DIR"] = allocMount
	env["NOMAD_TASK_DIR"] = localMount
	env["NOMAD_SECRETS_DIR"] = secretsMount
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// capabilities applies cap_drop then cap_add to the default set; cap_add
// may only name capabilities in allowed.
func capabilities(tc *taskConfig, allowed []string) ([]string, error) {
	set := map[string]bool{}
	for _, c := range defaultCaps {
		set[c] = true
	}
	for _, c := range tc.CapDrop {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, fmt.Errorf("config.cap_drop: %w", err)
		}
		if n == "ALL" {
			clear(set)
			continue
		}
		delete(set, n)
	}
	allow := map[string]bool{}
	for _, c := range allowed {
		if n, err := normalizeCap(c); err == nil {
			allow[n] = true
		}
	}
	for _, c := range tc.CapAdd {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, fmt.Errorf("config.cap_add: %w", err)
		}
		var adds []string
		if n == "ALL" {
			for _, k := range capability.ListKnown() {
				adds = append(adds, "CAP_"+strings.ToUpper(k.String()))
			}
		} else {
			adds = []string{n}
		}
		for _, a := range adds {
			if !allow[a] && !allow["ALL"] {
				return nil, fmt.Errorf("config.cap_add: %s is not allowed on this client; a client operator can allow it with plugin \"container\" { config { allow_caps = [..., %q] } }", a, strings.TrimPrefix(a, "CAP_"))
			}
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// specInput is everything buildSpec needs.
type specInput struct {
	Task    *drivers.TaskConfig
	TC      *taskConfig
	Image   *imageRecord
	Rootfs  string
	Caps    []string
	Volumes bool // host volumes outside the alloc dir allowed
	// PidsLimit is the client's process limit (negative: none).
	PidsLimit int64
	Seccomp   bool
	CPUMHz    float64
	SwapFile  string // the cgroup v1 memsw file; "" when swap is not accounted
	// Binds are mounted first, under the task's own mounts (the exec
	// driver's read-only host directories).
	Binds []specs.Mount
}

// buildSpec builds the OCI runtime spec of a task's container, and lists
// the volumes the supervisor must resolve inside the allocation dir when it
// mounts them (volumes.go).
func buildSpec(in specInput) (*specs.Spec, []confinedVolume, error) {
	tc, task := in.TC, in.Task
	args, err := argv(tc, in.Image.Config)
	if err != nil {
		return nil, nil, err
	}
	s := specconv.Example()
	cwd := tc.WorkDir
	if cwd == "" {
		cwd = in.Image.Config.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	var rl unix.Rlimit
	nofile := uint64(1 << 20)
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil {
		nofile = rl.Max
	}
	s.Process = &specs.Process{
		Args:            args,
		Env:             containerEnv(in.Image.Config.Env, task.Env),
		Cwd:             cwd,
		NoNewPrivileges: true,
		Capabilities:    &specs.LinuxCapabilities{Bounding: in.Caps, Effective: in.Caps, Permitted: in.Caps},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}},
	}
	s.Root = &specs.Root{Path: in.Rootfs, Readonly: tc.ReadonlyRootfs}
	if len(tc.Labels) > 0 {
		s.Annotations = maps.Clone(tc.Labels)
	}
	s.Hostname = tc.Hostname
	if s.Hostname == "" && task.Network != nil {
		s.Hostname = task.Network.Hostname
	}
	if s.Hostname == "" {
		s.Hostname = defaultHostname(task)
	}
	// The host's network (drop the network namespace, and its loopback-only
	// /sys remount: keep /sys read-only), or the allocation's own: join
	// its namespace.
	var nss []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		switch {
		case ns.Type != specs.NetworkNamespace:
			nss = append(nss, ns)
		case task.Network != nil:
			nss = append(nss, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: task.Network.Path})
		}
	}
	s.Linux.Namespaces = nss

	mounts := append(slices.Clone(in.Binds),
		bind(filepath.Join(task.AllocDir, "alloc"), allocMount, false),
		bind(filepath.Join(task.TaskDir, "local"), localMount, false),
	)
	sec := bind(filepath.Join(task.TaskDir, "secrets"), secretsMount, false)
	sec.Options = append(sec.Options, "noexec")
	mounts = append(mounts, sec)
	for _, f := range etcFiles(task.Network) {
		if fileExists(f[0]) {
			mounts = append(mounts, bind(f[0], f[1], true))
		}
	}
	vols, confined, err := volumeMounts(tc.Volumes, task.TaskDir, task.AllocDir, in.Volumes, len(s.Mounts)+len(mounts))
	if err != nil {
		return nil, nil, err
	}
	mounts = append(mounts, vols...)
	hv, err := hostVolumeMounts(task.Mounts)
	if err != nil {
		return nil, nil, err
	}
	mounts = append(mounts, hv...)
	s.Mounts = append(s.Mounts, mounts...)

	res := s.Linux.Resources
	if r := task.Resources; r != nil {
		limit := r.Memory.MemoryMB << 20
		switch {
		case r.Memory.MemoryMaxMB == structs.MemoryNoLimit:
			// memory_max = -1: memory is a reservation, with no hard limit.
			reservation := limit
			limit = 0
			res.Memory = &specs.LinuxMemory{Reservation: &reservation}
		case r.Memory.MemoryMaxMB > r.Memory.MemoryMB:
			reservation := limit
			limit = r.Memory.MemoryMaxMB << 20
			res.Memory = &specs.LinuxMemory{Reservation: &reservation}
		}
		if limit > 0 {
			if res.Memory == nil {
				res.Memory = &specs.LinuxMemory{}
			}
			res.Memory.Limit = &limit
			if in.SwapFile != "" {
				swap := limit
				res.Memory.Swap = &swap
			}
		}
		shares := uint64(max(r.Cpu.CpuShares, 2))
		res.CPU = &specs.LinuxCPU{Shares: &shares}
		if tc.CPUHardLimit {
			if in.CPUMHz <= 0 {
				return nil, nil, errors.New("config.cpu_hard_limit: the CPU speed of this host is unknown (no \"cpu MHz\" in /proc/cpuinfo), so the CPU quota cannot be computed; remove cpu_hard_limit")
			}
			period := uint64(100000)
			if tc.CPUCFSPeriod > 0 {
				period = uint64(tc.CPUCFSPeriod)
			}
			quota := int64(float64(r.Cpu.CpuShares) / in.CPUMHz * float64(period))
			quota = max(quota, 1000)
			res.CPU.Period, res.CPU.Quota = &period, &quota
		}
	}
	pids, err := pidsLimit(tc.PidsLimit, in.PidsLimit)
	if err != nil {
		return nil, nil, err
	}
	if pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &pids}
	}
	s.Linux.CgroupsPath = "/nomadlike/" + containerID(task.ID)
	if in.Seccomp {
		s.Linux.Seccomp = defaultSeccomp()
	}
	return s, confined, nil
}

// pidsLimit is the container's process limit: the task's pids_limit,
// which may not exceed the client's, else the client's (0: none).
func pidsLimit(task, client int64) (int64, error) {
	if task <= 0 {
		return max(client, 0), nil
	}
	if client > 0 && task > client {
		return 0, fmt.Errorf("config.pids_limit: %d is above this client's limit of %d processes per container; lower it, or have an operator raise plugin \"container\" { config { pids_limit } }", task, client)
	}
	return task, nil
}

func bind(src, dst string, ro bool) specs.Mount {
	opts := []string{"rbind", "nosuid", "nodev"}
	if ro {
		opts = append(opts, "ro")
	} else {
		opts = append(opts, "rw")
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// etcFiles are the host files mounted at /etc/resolv.conf and /etc/hosts
// (source, destination): the allocation's own with a network of its own
// (never the host's resolvers), else the host's.
func etcFiles(n *drivers.NetworkIsolation) [][2]string {
	if n != nil {
		return [][2]string{{n.ResolvConf, "/etc/resolv.conf"}, {n.Hosts, "/etc/hosts"}}
	}
	return [][2]string{{"/etc/resolv.conf", "/etc/resolv.conf"}, {"/etc/hosts", "/etc/hosts"}}
}

// defaultHostname is "<task>-<first 8 of alloc id>", at most 63 characters.
func defaultHostname(task *drivers.TaskConfig) string {
	id := task.AllocID
	if len(id) > 8 {
		id = id[:8]
	}
	h := idUnsafe.ReplaceAllString(task.Name, "-")
	if id != "" {
		h += "-" + id
	}
	if len(h) > 63 {
		h = h[len(h)-63:]
	}
	return strings.Trim(h, "-.")
}

// swapFile returns the cgroup v1 swap limit file when swap is accounted.
func swapFile() string {
	if cgroups.IsCgroup2UnifiedMode() {
		return ""
	}
	p := "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
	if fileExists(p) {
		return p
	}
	return ""
}

// cpuMHz reads the first "cpu MHz" of /proc/cpuinfo, 0 if unknown.
func cpuMHz() float64 {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
			var f float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%g", &f); err == nil {
				return f
			}
		}
	}
	return 0
}

// defaultSeccomp is a deny-list profile: everything is allowed except
// system calls that reach the kernel's administrative surface, which fail
// with EPERM (as with Docker's default profile, without capabilities most
// of them fail anyway; this closes them for CAP_SYS_ADMIN-free containers
// that were given capabilities through cap_add).
func defaultSeccomp() *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{
				"acct", "add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen",
				"fspick", "init_module", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
				"mount_setattr", "move_mount", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
				"quotactl", "reboot", "request_key", "setns", "swapoff", "swapon", "syslog", "umount2",
				"unshare", "userfaultfd", "vm86", "vm86old",
			},
			Action:   specs.ActErrno,
			ErrnoRet: &eperm,
		}},
	}
}
