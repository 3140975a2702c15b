package allocrunner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// volumeHook turns the task's volume_mount blocks into driver mounts of the
// node's host volumes (Nomad's volumes hook). A host volume the node lacks
// is a setup failure (the client config may have changed since the
// placement); a driver that cannot mount (raw_exec, qemu) fails the task,
// as in Nomad.
type volumeHook struct{}

func (volumeHook) Name() string { return "volumes" }

func (volumeHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if len(req.Task.VolumeMounts) == 0 || req.Alloc == nil || req.Alloc.Job == nil {
		return nil
	}
	tg := req.Alloc.Job.LookupTaskGroup(req.Alloc.TaskGroup)
	if tg == nil {
		return nil
	}
	var hostVolumes map[string]*structs.ClientHostVolumeConfig
	if req.Node != nil {
		hostVolumes = req.Node.HostVolumes
	}
	replace := func(s string) string { return s }
	if resp.Env != nil {
		replace = resp.Env.Replace
	}
	mounts, err := hostVolumeMounts(req.Task, tg, hostVolumes, replace)
	if err != nil || len(mounts) == 0 {
		return err
	}
	if md, ok := req.Driver.(drivers.MountDriver); !ok || !md.SupportsMounts() {
		return &fatalSetupError{err: fmt.Errorf("task driver %q for %q does not support host volumes; remove the task's volume_mount blocks or use the container driver", req.Task.Driver, req.Task.Name)}
	}
	resp.Mounts = mounts
	return nil
}

// hostVolumeMounts resolves task's volume mounts against its group's volume
// blocks and the node's host volumes; replace interpolates ${...} in the
// volume name and destination. A mount is read-only when the host volume,
// the group's volume block or the mount says so.
func hostVolumeMounts(task *structs.Task, tg *structs.TaskGroup, node map[string]*structs.ClientHostVolumeConfig, replace func(string) string) ([]*drivers.MountConfig, error) {
	var out []*drivers.MountConfig
	for _, m := range task.VolumeMounts {
		if m == nil {
			continue
		}
		name := replace(m.Volume)
		req := tg.Volumes[name]
		if req == nil {
			return nil, fmt.Errorf("volume_mount: volume %q is not a volume of group %q", name, tg.Name)
		}
		if req.Type != structs.VolumeTypeHost {
			return nil, fmt.Errorf("volume_mount: volume %q is of type %q; only host volumes are supported", name, req.Type)
		}
		hv := node[req.Source]
		if hv == nil {
			have := "none"
			if len(node) > 0 {
				have = strings.Join(slices.Sorted(maps.Keys(node)), ", ")
			}
			return nil, fmt.Errorf("host volume validation error: missing %s (this client's host volumes: %s)", req.Source, have)
		}
		out = append(out, &drivers.MountConfig{
			TaskPath:        replace(m.Destination),
			HostPath:        hv.Path,
			Readonly:        hv.ReadOnly || req.ReadOnly || m.ReadOnly,
			PropagationMode: m.PropagationMode,
		})
	}
	return out, nil
}
