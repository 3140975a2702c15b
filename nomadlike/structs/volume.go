package structs

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Volume types of a group's volume block, as Nomad names them.
const (
	VolumeTypeHost = "host"
	VolumeTypeCSI  = "csi"
)

// Propagation modes of a volume_mount, as Nomad names them.
const (
	VolumeMountPropagationPrivate       = "private"
	VolumeMountPropagationHostToTask    = "host-to-task"
	VolumeMountPropagationBidirectional = "bidirectional"
)

// VolumeRequest is a group's volume block: a volume the group's tasks may
// mount. Only host volumes (a client's host_volume) are supported; the CSI
// fields are kept for Nomad's wire shape and refused by Validate.
type VolumeRequest struct {
	Name     string
	Type     string
	Source   string
	ReadOnly bool
	// Sticky: a replacement allocation prefers the node of the one it
	// replaces (where the volume's data is), when it still fits there.
	Sticky         bool   `json:",omitempty"`
	AccessMode     string `json:",omitempty"`
	AttachmentMode string `json:",omitempty"`
	PerAlloc       bool   `json:",omitempty"`
	// MountOptions is CSI only; kept so such a request is refused by name.
	MountOptions map[string]any `json:",omitempty"`
}

// VolumeMount is a task's volume_mount block: where a group volume appears
// inside the task.
type VolumeMount struct {
	Volume          string
	Destination     string
	ReadOnly        bool
	PropagationMode string
	SELinuxLabel    string `json:",omitempty"`
}

// ClientHostVolumeConfig is one host_volume block of a client's config, as
// the node reports it (Node.HostVolumes).
type ClientHostVolumeConfig struct {
	Name     string
	Path     string
	ReadOnly bool
}

// Copy returns a copy of the request.
func (v *VolumeRequest) Copy() *VolumeRequest {
	if v == nil {
		return nil
	}
	n := *v
	n.MountOptions = copyAnyMap(v.MountOptions)
	return &n
}

// Copy returns a copy of the mount.
func (m *VolumeMount) Copy() *VolumeMount {
	if m == nil {
		return nil
	}
	n := *m
	return &n
}

// Copy returns a copy of the host volume.
func (c *ClientHostVolumeConfig) Copy() *ClientHostVolumeConfig {
	if c == nil {
		return nil
	}
	n := *c
	return &n
}

// CopyHostVolumes deep-copies a node's host volumes.
func CopyHostVolumes(m map[string]*ClientHostVolumeConfig) map[string]*ClientHostVolumeConfig {
	if m == nil {
		return nil
	}
	out := make(map[string]*ClientHostVolumeConfig, len(m))
	for k, v := range m {
		out[k] = v.Copy()
	}
	return out
}

func copyVolumeRequests(m map[string]*VolumeRequest) map[string]*VolumeRequest {
	if m == nil {
		return nil
	}
	out := make(map[string]*VolumeRequest, len(m))
	for k, v := range m {
		out[k] = v.Copy()
	}
	return out
}

func copyVolumeMounts(ms []*VolumeMount) []*VolumeMount {
	if ms == nil {
		return nil
	}
	out := make([]*VolumeMount, len(ms))
	for i, m := range ms {
		out[i] = m.Copy()
	}
	return out
}

// canonicalizeVolumes names each volume after its key when the name is empty.
func (tg *TaskGroup) canonicalizeVolumes() {
	for name, v := range tg.Volumes {
		if v != nil && v.Name == "" {
			v.Name = name
		}
	}
}

// volumesField is the field path of a group volume.
func volumesField(name string) string { return fmt.Sprintf("Volumes[%q]", name) }

// validateVolumes checks the group's volume blocks.
func (tg *TaskGroup) validateVolumes(v *ValidationError) {
	for _, name := range slices.Sorted(maps.Keys(tg.Volumes)) {
		f := volumesField(name)
		req := tg.Volumes[name]
		if req == nil {
			v.add(f, "is null; remove it or give it Type \"host\" and a Source")
			continue
		}
		switch req.Type {
		case VolumeTypeHost:
		case VolumeTypeCSI:
			v.add(f+".Type", "CSI volumes are not supported by nomadlike (there are no CSI plugins); use type = \"host\" with a client's host_volume")
			continue
		case "":
			v.add(f+".Type", "volume %q has no type; set type = \"host\" (the source names a client's host_volume)", name)
			continue
		default:
			v.add(f+".Type", "unknown volume type %q; use \"host\"", req.Type)
			continue
		}
		if req.Source == "" {
			v.add(f+".Source", "host volume %q needs a source: the name of a host_volume block in the client's config", name)
		}
		csiOnly := func(field, hcl string, set bool) {
			if set {
				v.add(f+"."+field, "%s is only for CSI volumes, which nomadlike does not support; remove it", hcl)
			}
		}
		csiOnly("AccessMode", "access_mode", req.AccessMode != "")
		csiOnly("AttachmentMode", "attachment_mode", req.AttachmentMode != "")
		csiOnly("MountOptions", "mount_options", len(req.MountOptions) > 0)
		if req.PerAlloc {
			v.add(f+".PerAlloc", "per_alloc is not supported by nomadlike for host volumes; remove it")
		}
	}
}

// validateVolumeMounts checks a task's volume_mount blocks against its group's volumes.
func (t *Task) validateVolumeMounts(tg *TaskGroup, v *ValidationError) {
	for i, m := range t.VolumeMounts {
		f := fmt.Sprintf("VolumeMounts[%d]", i)
		if m == nil {
			v.add(f, "is null; remove it or give it a Volume and a Destination")
			continue
		}
		switch {
		case m.Volume == "":
			v.add(f+".Volume", "volume_mount needs a volume: the name of one of the group's volume blocks")
		case tg == nil || tg.Volumes[m.Volume] == nil:
			names := "none"
			if tg != nil && len(tg.Volumes) > 0 {
				q := make([]string, 0, len(tg.Volumes))
				for _, n := range slices.Sorted(maps.Keys(tg.Volumes)) {
					q = append(q, fmt.Sprintf("%q", n))
				}
				names = strings.Join(q, ", ")
			}
			v.add(f+".Volume", "volume %q is not a volume of the task's group (its volumes: %s); add a group volume %q { type = \"host\" source = \"...\" } block", m.Volume, names, m.Volume)
		}
		switch {
		case m.Destination == "":
			v.add(f+".Destination", "volume_mount needs a destination, the path inside the task, for example destination = \"/data\"")
		case !path.IsAbs(m.Destination):
			v.add(f+".Destination", "destination %q must be an absolute path inside the task, for example \"/data\"", m.Destination)
		}
		switch m.PropagationMode {
		case "", VolumeMountPropagationPrivate, VolumeMountPropagationHostToTask, VolumeMountPropagationBidirectional:
		default:
			v.add(f+".PropagationMode", "propagation_mode %q is not one of %q, %q or %q", m.PropagationMode,
				VolumeMountPropagationPrivate, VolumeMountPropagationHostToTask, VolumeMountPropagationBidirectional)
		}
		if m.SELinuxLabel != "" {
			v.add(f+".SELinuxLabel", "selinux_label is not supported by nomadlike (no SELinux); remove it")
		}
	}
}

// HostVolumeFits reports whether a node's host volume can serve req: it
// exists, under the request's source, and is writable unless the request
// is read-only (Nomad's host volume feasibility).
func HostVolumeFits(req *VolumeRequest, node map[string]*ClientHostVolumeConfig) bool {
	hv := node[req.Source]
	if hv == nil {
		return false
	}
	return req.ReadOnly || !hv.ReadOnly
}
