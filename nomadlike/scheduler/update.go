package scheduler

import (
	"maps"
	"reflect"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// destructiveChange reports whether moving an allocation from group a (its
// job version) to group b (the current version) needs a new allocation
// rather than an in-place update, and names the first difference found.
// Changes of count, job or group meta, constraints, restart policy or kill
// settings are applied in place; anything a running task would see (driver,
// config, env, user, task meta, resources, ports, disk, log config) is not.
func destructiveChange(a, b *structs.TaskGroup) (bool, string) {
	if len(a.Tasks) != len(b.Tasks) {
		return true, "number of tasks changed"
	}
	if !ephemeralDiskEqual(a.EphemeralDisk, b.EphemeralDisk) {
		return true, "ephemeral disk changed"
	}
	if !networksEqual(a.Networks, b.Networks) {
		return true, "group network changed"
	}
	if !volumesEqual(a.Volumes, b.Volumes) {
		return true, "group volumes changed"
	}
	for _, at := range a.Tasks {
		bt := b.LookupTask(at.Name)
		if bt == nil {
			return true, "task " + at.Name + " removed"
		}
		switch {
		case at.Driver != bt.Driver:
			return true, "task " + at.Name + " driver changed"
		case at.User != bt.User:
			return true, "task " + at.Name + " user changed"
		case !reflect.DeepEqual(at.Config, bt.Config):
			return true, "task " + at.Name + " config changed"
		case !maps.Equal(at.Env, bt.Env):
			return true, "task " + at.Name + " env changed"
		case !maps.Equal(at.Meta, bt.Meta):
			return true, "task " + at.Name + " meta changed"
		case at.Leader != bt.Leader:
			return true, "task " + at.Name + " leader changed"
		case !reflect.DeepEqual(at.LogConfig, bt.LogConfig):
			return true, "task " + at.Name + " log config changed"
		case !resourcesEqual(at.Resources, bt.Resources):
			return true, "task " + at.Name + " resources changed"
		case !volumeMountsEqual(at.VolumeMounts, bt.VolumeMounts):
			return true, "task " + at.Name + " volume mounts changed"
		}
	}
	return false, ""
}

func ephemeralDiskEqual(a, b *structs.EphemeralDisk) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func resourcesEqual(a, b *structs.Resources) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CPU == b.CPU && a.Cores == b.Cores && a.MemoryMB == b.MemoryMB &&
		a.MemoryMaxMB == b.MemoryMaxMB && a.DiskMB == b.DiskMB && networksEqual(a.Networks, b.Networks)
}

func networksEqual(a, b []*structs.NetworkResource) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}
