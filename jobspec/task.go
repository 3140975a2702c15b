package jobspec

import (
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
		{Type: "restart"},
	},
	Unsupported: []string{"service", "template", "artifact", "vault", "consul", "volume_mount",
		"lifecycle", "dispatch_payload", "identity", "csi_plugin", "affinity", "spread",
		"scaling", "action", "schedule", "secret", "dynamic", "kind"},
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
