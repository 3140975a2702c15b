package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/dynblock"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var jobSpec = blockSpec{
	Attrs: []string{"name", "region", "namespace", "type", "priority", "datacenters",
		"node_pool", "all_at_once", "meta"},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "meta"},
		{Type: "constraint"},
		{Type: "affinity"},
		{Type: "spread"},
		{Type: "group", LabelNames: []string{"name"}},
		{Type: "task", LabelNames: []string{"name"}},
		{Type: "update"},
		{Type: "migrate"},
		{Type: "periodic"},
		{Type: "parameterized"},
		{Type: "reschedule"},
	},
	Unsupported: []string{"multiregion", "ui", "id"},
	Features:    []string{"vault", "consul", "vault_token", "consul_token", "consul_namespace", "vault_namespace"},
}

// decodeJob decodes a job block.
func (d *decoder) decodeJob(b *hcl.Block) *structs.Job {
	j := &structs.Job{ID: b.Labels[0]}
	d.ranges[""] = b.DefRange
	// Every body below the job's expands dynamic blocks (dynamic.go).
	c := d.content(dynblock.Expand(b.Body, d.ctx), jobSpec)
	a := c.Attributes
	d.setString(a, "name", &j.Name)
	d.setString(a, "region", &j.Region)
	d.setString(a, "namespace", &j.Namespace)
	d.setString(a, "type", &j.Type)
	d.jobType = j.Type
	d.recordAttrRanges(a, "", map[string]string{"type": "Type", "priority": "Priority", "datacenters": "Datacenters", "name": "Name"})
	d.setString(a, "node_pool", &j.NodePool)
	d.setBool(a, "all_at_once", &j.AllAtOnce)
	d.setStringList(a, "datacenters", &j.Datacenters)
	if d.setInt(a, "priority", &j.Priority) && (j.Priority < 1 || j.Priority > 100) {
		d.errorf(a["priority"].Expr.Range(), "Invalid priority", "priority must be between 1 and 100, got %d", j.Priority)
	}
	j.Meta = d.mapAttrOrBlock(c, "meta")
	j.Constraints = d.decodeConstraints(c)
	j.Affinities = d.decodeAffinities(c)
	j.Spreads = d.decodeSpreads(c)
	if ub := d.single(c, "update"); ub != nil {
		j.Update = d.decodeUpdate(ub, structs.DefaultUpdateStrategy(), "Update")
		d.jobUpdate = j.Update
	}
	if rb := d.single(c, "reschedule"); rb != nil {
		d.jobReschedule = d.decodeReschedule(rb)
		d.recordRange("Reschedule", rb.DefRange)
	}
	if mb := d.single(c, "migrate"); mb != nil {
		d.jobMigrate = d.decodeMigrate(mb, defaultMigrate())
	}
	if pb := d.single(c, "periodic"); pb != nil {
		j.Periodic = d.decodePeriodic(pb)
	}
	if pb := d.single(c, "parameterized"); pb != nil {
		j.ParameterizedJob = d.decodeParameterized(pb)
	}

	seen := map[string]*hcl.Block{}
	// A task in the job body is a group of its own, named after it and
	// placed before the groups, as Nomad's HCL2 parser does.
	for _, tb := range blocksOf(c, "task") {
		name := tb.Labels[0]
		if prev, ok := seen[name]; ok {
			d.errorf(tb.LabelRanges[0], "Duplicate group",
				"task %q in the job body is a group of that name, already defined at line %d; group names must be unique within a job", name, prev.DefRange.Start.Line)
			continue
		}
		seen[name] = tb
		tg := &structs.TaskGroup{Name: name, Count: 1}
		d.recordRange(groupPath(name), tb.DefRange)
		if d.jobReschedule != nil {
			rp := *d.jobReschedule
			tg.ReschedulePolicy = &rp
		}
		if d.jobMigrate != nil {
			m := *d.jobMigrate
			tg.Migrate = &m
		}
		tg.Tasks = []*structs.Task{d.decodeTask(tg, tb)}
		j.TaskGroups = append(j.TaskGroups, tg)
	}
	for _, gb := range blocksOf(c, "group") {
		name := gb.Labels[0]
		if prev, ok := seen[name]; ok {
			d.errorf(gb.LabelRanges[0], "Duplicate group",
				"group %q is already defined at line %d; group names must be unique within a job", name, prev.DefRange.Start.Line)
			continue
		}
		seen[name] = gb
		j.TaskGroups = append(j.TaskGroups, d.decodeGroup(gb))
	}
	if len(j.TaskGroups) == 0 && len(seen) == 0 {
		d.errorf(b.DefRange, "Missing group", "job %q has no group block; add at least one group with a task", j.ID)
	}
	return j
}

// recordRange remembers where the object at a Validate field path is.
func (d *decoder) recordRange(path string, r hcl.Range) {
	d.ranges[path] = r
}

// recordAttrRanges records the value range of each attribute of fields
// (attribute name -> Validate field name) that a sets, at prefix+field.
func (d *decoder) recordAttrRanges(a hcl.Attributes, prefix string, fields map[string]string) {
	for attr, field := range fields {
		if at, ok := a[attr]; ok {
			d.recordRange(prefix+field, at.Expr.Range())
		}
	}
}

// firstExprRange returns the value range of the first of names that a sets,
// or def: where to report a check involving several arguments.
func firstExprRange(a hcl.Attributes, def hcl.Range, names ...string) hcl.Range {
	for _, n := range names {
		if attr, ok := a[n]; ok {
			return attr.Expr.Range()
		}
	}
	return def
}

func groupPath(name string) string { return fmt.Sprintf("TaskGroups[%q]", name) }

func taskPath(group, task string) string {
	return fmt.Sprintf("%s.Tasks[%q]", groupPath(group), task)
}
