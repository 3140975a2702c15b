package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var taskSpec = blockSpec{
	Attrs: []string{"driver", "user", "env", "meta", "kill_timeout", "kill_signal",
		"leader", "shutdown_delay"},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "config"},
		{Type: "env"},
		{Type: "meta"},
		{Type: "resources"},
		{Type: "logs"},
		{Type: "constraint"},
		{Type: "affinity"},
		{Type: "restart"},
		{Type: "lifecycle"},
		{Type: "template"},
		{Type: "dispatch_payload"},
		{Type: "artifact"},
		{Type: "service"},
		{Type: "volume_mount"},
		{Type: "identity"},
		{Type: "action", LabelNames: []string{"name"}},
	},
	Unsupported: []string{"spread",
		"scaling", "schedule", "secret", "kind"},
	Features: []string{"vault", "consul", "csi_plugin"},
}

// decodeTask decodes a task block of the named group.
func (d *decoder) decodeTask(group *structs.TaskGroup, b *hcl.Block) *structs.Task {
	t := &structs.Task{Name: b.Labels[0]}
	path := taskPath(group.Name, t.Name)
	d.recordRange(path, b.DefRange)
	c := d.content(b.Body, taskSpec)
	a := c.Attributes
	d.setString(a, "driver", &t.Driver)
	if _, ok := a["driver"]; !ok {
		d.errorf(b.DefRange, "Missing driver",
			"task %q in group %q has no driver; add for example driver = \"raw_exec\"", t.Name, group.Name)
	} else if t.Driver == "" {
		d.errorf(a["driver"].Expr.Range(), "Missing driver", "the driver of task %q is empty; name one, for example \"raw_exec\"", t.Name)
	}
	d.setString(a, "user", &t.User)
	d.setString(a, "kill_signal", &t.KillSignal)
	d.setBool(a, "leader", &t.Leader)
	d.setDuration(a, "kill_timeout", &t.KillTimeout)
	d.setDuration(a, "shutdown_delay", &t.ShutdownDelay)
	t.Env = d.mapAttrOrBlock(c, "env")
	t.Meta = d.mapAttrOrBlock(c, "meta")
	t.Constraints = d.decodeConstraints(c)
	t.Affinities = d.decodeAffinities(c)
	if cb := d.single(c, "config"); cb != nil {
		t.Config = d.decodeConfig(cb.Body)
		d.recordRange(path+".Config", cb.DefRange)
	}
	if rb := d.single(c, "resources"); rb != nil {
		t.Resources = d.decodeResources(rb)
		d.recordRange(path+".Resources", rb.DefRange)
	}
	if lb := d.single(c, "logs"); lb != nil {
		t.LogConfig = d.decodeLogs(lb)
		d.recordRange(path+".LogConfig", lb.DefRange)
	}
	for i, ab := range blocksOf(c, "artifact") {
		t.Artifacts = append(t.Artifacts, d.decodeArtifact(ab))
		d.recordRange(fmt.Sprintf("%s.Artifacts[%d]", path, i), ab.DefRange)
	}
	if lb := d.single(c, "lifecycle"); lb != nil {
		t.Lifecycle = d.decodeLifecycle(lb)
		d.recordRange(path+".Lifecycle", lb.DefRange)
	}
	t.Services = d.decodeServices(c, path)
	t.VolumeMounts = d.decodeVolumeMounts(c, path)
	for i, tb := range blocksOf(c, "template") {
		t.Templates = append(t.Templates, d.decodeTemplate(tb))
		d.recordRange(fmt.Sprintf("%s.Templates[%d]", path, i), tb.DefRange)
	}
	if pb := d.single(c, "dispatch_payload"); pb != nil {
		t.DispatchPayload = d.decodeDispatchPayload(pb)
		d.recordRange(path+".DispatchPayload", pb.DefRange)
	}
	d.decodeIdentities(c, t, path)
	for i, ab := range blocksOf(c, "action") {
		t.Actions = append(t.Actions, d.decodeAction(ab))
		d.recordRange(fmt.Sprintf("%s.Actions[%d]", path, i), ab.DefRange)
	}
	if rb := d.single(c, "restart"); rb != nil {
		base := group.RestartPolicy
		if base == nil {
			base = structs.DefaultRestartPolicy(d.jobType)
		}
		t.RestartPolicy = d.decodeRestart(rb, base)
		d.recordRange(path+".RestartPolicy", rb.DefRange)
	}
	return t
}
