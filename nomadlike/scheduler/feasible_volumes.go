package scheduler

import (
	"reflect"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// filterHostVolumes is the ConstraintFiltered key for nodes lacking one of
// a group's host volumes, or offering it read-only to a group that asks for
// it read-write, worded as Nomad's metrics word it.
const filterHostVolumes = "missing compatible host volume"

// hostVolumesFit reports whether node offers every host volume tg asks for.
// It is checked per node, not per computed class: host volumes are not
// part of the class (as in Nomad, where they are an "available" check).
func hostVolumesFit(tg *structs.TaskGroup, node *structs.Node) bool {
	for _, req := range tg.Volumes {
		if req == nil || req.Type != structs.VolumeTypeHost {
			continue
		}
		if !structs.HostVolumeFits(req, node.HostVolumes) {
			return false
		}
	}
	return true
}

// volumesEqual compares two groups' volume blocks (nil and empty alike).
func volumesEqual(a, b map[string]*structs.VolumeRequest) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || (v == nil) != (w == nil) || (v != nil && !reflect.DeepEqual(*v, *w)) {
			return false
		}
	}
	return true
}

// volumeMountsEqual compares two tasks' volume mounts (nil and empty alike).
func volumeMountsEqual(a, b []*structs.VolumeMount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || (a[i] != nil && *a[i] != *b[i]) {
			return false
		}
	}
	return true
}
