package agent

import (
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestCompatVolumesAndScaling registers, with HashiCorp's official client,
// a job with a host volume, a volume mount and a scaling block; reads them
// back; checks the node's host volumes; and scales beyond the maximum.
func TestCompatVolumesAndScaling(t *testing.T) {
	volDir := t.TempDir()
	a := startDevAgentWith(t, func(cfg *Config) {
		cfg.Name = "dev-vol"
		cfg.Client.HostVolumes = map[string]*structs.ClientHostVolumeConfig{"data": {Name: "data", Path: volDir, ReadOnly: true}}
	})
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	var nodeID string
	waitFor(t, "the dev node to register", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
			return false, "no ready node"
		}
		nodeID = nodes[0].ID
		return true, ""
	})
	node, _, err := c.Nodes().Info(nodeID, nil)
	if err != nil || node.HostVolumes["data"] == nil || node.HostVolumes["data"].Path != volDir || !node.HostVolumes["data"].ReadOnly {
		t.Fatalf("Nodes().Info HostVolumes: %+v, %v", node, err)
	}

	job := nomad.NewServiceJob("vols", "vols", "global", 50)
	job.Datacenters = []string{"dc1"}
	task := nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"600"})
	dest, vol, ro := "/data", "d", true
	task.VolumeMounts = []*nomad.VolumeMount{{Volume: &vol, Destination: &dest, ReadOnly: &ro}}
	tg := nomad.NewTaskGroup("g", 1).AddTask(task)
	tg.Volumes = map[string]*nomad.VolumeRequest{"d": {Name: "d", Type: "host", Source: "data", ReadOnly: true}}
	minC, maxC := int64(1), int64(2)
	tg.Scaling = &nomad.ScalingPolicy{Min: &minC, Max: &maxC}
	job.AddTaskGroup(tg)
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	info, _, err := c.Jobs().Info("vols", nil)
	if err != nil {
		t.Fatalf("Jobs().Info: %v", err)
	}
	g := info.TaskGroups[0]
	if v := g.Volumes["d"]; v == nil || v.Type != "host" || v.Source != "data" || !v.ReadOnly {
		t.Errorf("Volumes: %+v", g.Volumes)
	}
	if m := g.Tasks[0].VolumeMounts; len(m) != 1 || *m[0].Destination != "/data" || !*m[0].ReadOnly {
		t.Errorf("VolumeMounts: %+v", m)
	}
	if s := g.Scaling; s == nil || *s.Min != 1 || *s.Max != 2 || !*s.Enabled || s.Type != "horizontal" {
		t.Errorf("Scaling: %+v", s)
	}
	three := 3
	_, _, err = c.Jobs().Scale("vols", "g", &three, "too many", false, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "group count was greater than scaling policy maximum: 3 > 2") {
		t.Errorf("Jobs().Scale beyond max: %v", err)
	}
	// Nomad requires max: an omitted one is a 400 naming it.
	noMax := "nomax"
	job.ID, job.Name = &noMax, &noMax
	tg.Scaling = &nomad.ScalingPolicy{Min: &minC}
	if _, _, err := c.Jobs().Register(job, nil); err == nil || !strings.Contains(err.Error(), "maximum count must be specified") {
		t.Errorf("Register without max: %v", err)
	}
}
