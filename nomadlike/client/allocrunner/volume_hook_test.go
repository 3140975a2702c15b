package allocrunner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// mountingDriver is a test driver that honours mounts.
type mountingDriver struct{ *clienttest.Driver }

func (mountingDriver) SupportsMounts() bool { return true }

// TestVolumeHook checks that volume mounts become driver mounts of the
// node's host volumes, read-only when any layer says so, and that a missing
// host volume or a driver without mounts is refused.
func TestVolumeHook(t *testing.T) {
	task := &structs.Task{Name: "app", Driver: "container", VolumeMounts: []*structs.VolumeMount{
		{Volume: "data", Destination: "/data"},
		{Volume: "logs", Destination: "/logs", ReadOnly: true},
		{Volume: "cfg", Destination: "/etc/app", PropagationMode: "host-to-task"},
	}}
	tg := &structs.TaskGroup{Name: "g", Tasks: []*structs.Task{task}, Volumes: map[string]*structs.VolumeRequest{
		"data": {Type: "host", Source: "data"},
		"logs": {Type: "host", Source: "logs"},
		"cfg":  {Type: "host", Source: "config", ReadOnly: true},
	}}
	alloc := &structs.Allocation{TaskGroup: "g", Job: &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{tg}}}
	node := &structs.Node{HostVolumes: map[string]*structs.ClientHostVolumeConfig{
		"data":   {Name: "data", Path: "/srv/data"},
		"logs":   {Name: "logs", Path: "/var/log/app"},
		"config": {Name: "config", Path: "/etc/app"},
	}}
	req := &PrestartRequest{Alloc: alloc, Task: task, Node: node, Driver: mountingDriver{clienttest.NewDriver()}}
	resp := &PrestartResponse{}
	if err := (volumeHook{}).Prestart(context.Background(), req, resp); err != nil {
		t.Fatalf("Prestart: %v", err)
	}
	want := []*drivers.MountConfig{
		{TaskPath: "/data", HostPath: "/srv/data"},
		{TaskPath: "/logs", HostPath: "/var/log/app", Readonly: true},
		{TaskPath: "/etc/app", HostPath: "/etc/app", Readonly: true, PropagationMode: "host-to-task"},
	}
	if d := cmp.Diff(want, resp.Mounts); d != "" {
		t.Errorf("mounts (-want +got):\n%s", d)
	}

	// A driver without mounts (raw_exec) fails the task, as in Nomad.
	req.Driver = clienttest.NewDriver()
	err := (volumeHook{}).Prestart(context.Background(), req, &PrestartResponse{})
	var fe *fatalSetupError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `task driver "container" for "app" does not support host volumes`) {
		t.Errorf("driver without mounts: got %v, want a fatal setup error", err)
	}

	// The node lost a host volume since the placement.
	req.Driver = mountingDriver{clienttest.NewDriver()}
	req.Node = &structs.Node{HostVolumes: map[string]*structs.ClientHostVolumeConfig{"data": {Name: "data", Path: "/srv/data"}}}
	err = (volumeHook{}).Prestart(context.Background(), req, &PrestartResponse{})
	if err == nil || !strings.Contains(err.Error(), "host volume validation error: missing logs (this client's host volumes: data)") {
		t.Errorf("missing host volume: got %v", err)
	}
}
