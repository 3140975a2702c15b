package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// confinedVolume is a config.volumes entry whose source lies in the
// allocation directory: the task (or another task of the allocation) can
// plant symlinks there, so its source is resolved at mount time, by the
// supervisor, without leaving AllocDir (see openVolumeSources).
type confinedVolume struct {
	// Mount is the index of the volume's bind mount in Spec.Mounts.
	Mount int
	// AllocDir is the root the source may not leave; Path the source,
	// relative to it.
	AllocDir string
	Path     string
	// Key and Source name the volume in errors: "config.volumes[1]" and
	// the source as the job wrote it.
	Key    string
	Source string
}

// hostVolumesHint is the setting that lets tasks bind host paths.
const hostVolumesHint = `plugin "container" { config { volumes { enabled = true } } }`

// volumeMounts turns config.volumes into bind mounts. A source is relative
// to the task dir; one that stays (lexically) inside the allocation dir is
// returned as a confinedVolume too, for the supervisor to resolve at mount
// time; any other (an absolute path, or a relative one climbing out of the
// allocation) is a host path, refused unless hostVolumes (the client's
// volumes { enabled = true }) allows it. first is the index the mounts
// will have in Spec.Mounts.
func volumeMounts(vols []volume, taskDir, allocDir string, hostVolumes bool, first int) ([]specs.Mount, []confinedVolume, error) {
	var mounts []specs.Mount
	var confined []confinedVolume
	for i, v := range vols {
		key := fmt.Sprintf("config.volumes[%d]", i)
		src := v.Host
		if !filepath.IsAbs(src) {
			src = filepath.Join(taskDir, src)
		}
		rel, err := filepath.Rel(allocDir, src)
		inAlloc := err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
		switch {
		case inAlloc && !filepath.IsAbs(v.Host):
			confined = append(confined, confinedVolume{Mount: first + len(mounts), AllocDir: allocDir, Path: rel, Key: key, Source: v.Host})
		case !hostVolumes:
			return nil, nil, fmt.Errorf("%s: %q is a host path outside the allocation directory, and host volumes are disabled on this client; use a path relative to the task dir (such as \"local/data\" or \"../alloc/data\"), or have an operator allow host volumes with %s", key, v.Host, hostVolumesHint)
		default:
			if _, err := os.Stat(src); err != nil {
				return nil, nil, fmt.Errorf("%s: host path %s: %w", key, src, err)
			}
		}
		mounts = append(mounts, bind(src, v.Container, v.ReadOnly))
	}
	return mounts, confined, nil
}

// stageVolumes resolves the source of every confined volume inside its
// allocation dir and bind-mounts it at a staging path under stageDir (in
// the task's private state dir), and returns a copy of spec whose bind
// mounts name the staging paths. The caller calls undo once the
// container's init has made its own mounts (libcontainer's Run has
// returned, or failed): it unmounts the staging mounts (the container keeps
// its copies) and closes the descriptors.
//
// Why this is race-free: each source is resolved once, by openat2(2)
// relative to a descriptor of the allocation dir with RESOLVE_BENEATH (a
// "..", an absolute symlink or a symlink chain that would leave the
// allocation dir fails with EXDEV instead of being followed) and
// RESOLVE_NO_MAGICLINKS (no /proc/*/fd jumps), into an O_PATH descriptor
// that pins the exact directory or file (inode and mount). The staging
// bind mount is made from /proc/self/fd/<n>, which the kernel follows
// straight to that pinned file without walking any path again, so a
// symlink a task swaps in after the check changes nothing. libcontainer's
// init then binds the staging path, which lies in the task's state dir
// (root-owned, 0700, outside the allocation) where no task can plant
// anything. The staging step is needed because the init mounts in a mount
// namespace of its own: mount(2) refuses (EINVAL) to bind a descriptor of
// another namespace's mount, and libcontainer cannot take descriptors. The
// descriptors are close-on-exec and live only in the supervisor; the
// container never holds them.
func stageVolumes(spec *specs.Spec, vols []confinedVolume, stageDir string) (_ *specs.Spec, _ func(), err error) {
	if len(vols) == 0 {
		return spec, func() {}, nil
	}
	out := *spec
	out.Mounts = slices.Clone(spec.Mounts)
	defer func() {
		if err != nil {
			unstageAll(stageDir)
		}
	}()
	unstageAll(stageDir)
	if err := os.MkdirAll(stageDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create the volume staging dir: %w", err)
	}
	for i, v := range vols {
		if v.Mount < 0 || v.Mount >= len(out.Mounts) {
			return nil, nil, fmt.Errorf("%s: the container spec has no mount %d", v.Key, v.Mount)
		}
		stage := filepath.Join(stageDir, strconv.Itoa(i))
		if err := stageOne(v, stage); err != nil {
			return nil, nil, err
		}
		out.Mounts[v.Mount].Source = stage
	}
	return &out, func() { unstageAll(stageDir) }, nil
}

// stageOne resolves v inside its allocation dir and binds what it found
// at stage.
func stageOne(v confinedVolume, stage string) error {
	f, err := openBeneath(v.AllocDir, v.Path)
	if err != nil {
		return fmt.Errorf("%s: %q: %w", v.Key, v.Source, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("%s: %q: %w", v.Key, v.Source, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = os.Mkdir(stage, 0o700)
	} else {
		err = os.WriteFile(stage, nil, 0o600)
	}
	if err != nil {
		return fmt.Errorf("%s: create the staging mount point: %w", v.Key, err)
	}
	src := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	if err := unix.Mount(src, stage, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("%s: %q: bind the resolved source: %w", v.Key, v.Source, err)
	}
	return nil
}

// unstageAll unmounts and removes the staging mounts in stageDir (also
// what a supervisor that died mid-start left). It never removes
// recursively: a staging point still mounted (unmount failed) stays, with
// the allocation's files behind it untouched.
func unstageAll(stageDir string) {
	entries, _ := os.ReadDir(stageDir)
	for _, e := range entries {
		p := filepath.Join(stageDir, e.Name())
		_ = unix.Unmount(p, unix.MNT_DETACH)
		_ = os.Remove(p)
	}
	_ = os.Remove(stageDir)
}

// openBeneath opens rel, relative to root, as an O_PATH descriptor,
// refusing any resolution that leaves root.
func openBeneath(root, rel string) (*os.File, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the allocation directory %s: %w", root, err)
	}
	defer unix.Close(rfd)
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	for {
		fd, err = unix.Openat2(rfd, rel, how)
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			break
		}
	}
	switch {
	case err == nil:
		return os.NewFile(uintptr(fd), filepath.Join(root, rel)), nil
	case errors.Is(err, unix.EXDEV):
		return nil, fmt.Errorf("the path leads outside the allocation directory (through a symlink or \"..\"), which volumes may not do; bind a directory of the allocation, or ask an operator for a host volume (client host_volume and a volume_mount)")
	case errors.Is(err, unix.ENOENT):
		return nil, fmt.Errorf("%s does not exist in the allocation directory; create it (for example in a prestart task or with an artifact) or fix the path", rel)
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("too many levels of symlinks, or a /proc magic link, in the path")
	case errors.Is(err, unix.ENOSYS):
		return nil, fmt.Errorf("this kernel lacks openat2(2) (Linux 5.6 or later), which volumes need to be confined to the allocation directory")
	}
	return nil, fmt.Errorf("open it inside the allocation directory: %w", err)
}
