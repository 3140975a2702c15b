package container

import (
	"fmt"
	"os"
	"path"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// SupportsMounts reports that the container driver bind-mounts host volumes
// (a task's volume_mount blocks) into its containers.
func (d *Driver) SupportsMounts() bool { return true }

// reservedTaskPaths are mounted by the driver itself; a volume may not hide them.
var reservedTaskPaths = map[string]bool{allocMount: true, localMount: true, secretsMount: true}

// hostVolumeMounts turns the task's host volume mounts into bind mounts,
// read-only when asked, with the propagation the volume_mount names.
// Operators declare host volumes in the client config, so they need no
// volumes_enabled.
func hostVolumeMounts(mounts []*drivers.MountConfig) ([]specs.Mount, error) {
	var out []specs.Mount
	for i, m := range mounts {
		if m == nil {
			continue
		}
		dst := path.Clean(m.TaskPath)
		if !path.IsAbs(dst) {
			return nil, fmt.Errorf("volume_mount[%d]: destination %q must be an absolute path inside the container", i, m.TaskPath)
		}
		if reservedTaskPaths[dst] || dst == "/" {
			return nil, fmt.Errorf("volume_mount[%d]: destination %q would hide the task's own %s directory; choose another path, for example \"/data\"", i, m.TaskPath, dst)
		}
		if _, err := os.Stat(m.HostPath); err != nil {
			return nil, fmt.Errorf("volume_mount[%d]: host volume path %s: %w", i, m.HostPath, err)
		}
		b := bind(m.HostPath, dst, m.Readonly)
		switch m.PropagationMode {
		case "", structs.VolumeMountPropagationPrivate:
			b.Options = append(b.Options, "rprivate")
		case structs.VolumeMountPropagationHostToTask:
			b.Options = append(b.Options, "rslave")
		case structs.VolumeMountPropagationBidirectional:
			b.Options = append(b.Options, "rshared")
		default:
			return nil, fmt.Errorf("volume_mount[%d]: propagation_mode %q is not one of \"private\", \"host-to-task\" or \"bidirectional\"", i, m.PropagationMode)
		}
		out = append(out, b)
	}
	return out, nil
}
