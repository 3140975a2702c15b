package jobspec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var groupSpec = blockSpec{
	Attrs: []string{"count", "meta", "shutdown_delay"},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "meta"},
		{Type: "constraint"},
		{Type: "affinity"},
		{Type: "spread"},
		{Type: "restart"},
		{Type: "reschedule"},
		{Type: "ephemeral_disk"},
		{Type: "network"},
		{Type: "task", LabelNames: []string{"name"}},
	},
	Unsupported: []string{"service", "update", "volume", "scaling",
		"migrate", "consul", "vault", "disconnect", "dynamic", "max_client_disconnect",
		"stop_after_client_disconnect", "prevent_reschedule_on_lost"},
}

// decodeGroup decodes a group block; count defaults to 1.
func (d *decoder) decodeGroup(b *hcl.Block) *structs.TaskGroup {
	tg := &structs.TaskGroup{Name: b.Labels[0], Count: 1}
	path := groupPath(tg.Name)
	d.recordRange(path, b.DefRange)
	c := d.content(b.Body, groupSpec)
	a := c.Attributes
	if d.setInt(a, "count", &tg.Count) && tg.Count < 0 {
		d.errorf(a["count"].Expr.Range(), "Invalid count",
			"count of group %q cannot be negative, got %d; use 0 to stop the group", tg.Name, tg.Count)
	}
	var delay time.Duration
	if d.setDuration(a, "shutdown_delay", &delay) {
		tg.ShutdownDelay = &delay
	}
	tg.Meta = d.mapAttrOrBlock(c, "meta")
	tg.Constraints = d.decodeConstraints(c)
	tg.Affinities = d.decodeAffinities(c)
	tg.Spreads = d.decodeSpreads(c)
	if rb := d.single(c, "restart"); rb != nil {
		tg.RestartPolicy = d.decodeRestart(rb, structs.DefaultRestartPolicy(d.jobType))
		d.recordRange(path+".RestartPolicy", rb.DefRange)
	}
	if rb := d.single(c, "reschedule"); rb != nil {
		tg.ReschedulePolicy = d.decodeReschedule(rb)
		d.recordRange(path+".ReschedulePolicy", rb.DefRange)
	}
	if eb := d.single(c, "ephemeral_disk"); eb != nil {
		tg.EphemeralDisk = d.decodeEphemeralDisk(eb)
		d.recordRange(path+".EphemeralDisk", eb.DefRange)
	}
	if nb := d.single(c, "network"); nb != nil {
		tg.Networks = []*structs.NetworkResource{d.decodeNetwork(nb)}
		d.recordRange(path+".Networks", nb.DefRange)
	}

	seen := map[string]*hcl.Block{}
	for _, tb := range blocksOf(c, "task") {
		name := tb.Labels[0]
		if prev, ok := seen[name]; ok {
			d.errorf(tb.LabelRanges[0], "Duplicate task",
				"task %q is already defined in group %q at line %d; task names must be unique within a group",
				name, tg.Name, prev.DefRange.Start.Line)
			continue
		}
		seen[name] = tb
		tg.Tasks = append(tg.Tasks, d.decodeTask(tg, tb))
	}
	if len(seen) == 0 && !hasUnknownBlocks(b.Body, groupSpec) {
		d.errorf(b.DefRange, "Missing task", "group %q has no task block; add at least one task, for example task \"app\" { driver = \"raw_exec\" ... }", tg.Name)
	}
	return tg
}

// hasUnknownBlocks reports whether body holds a block spec does not know
// (already reported, perhaps a misspelled task).
func hasUnknownBlocks(body hcl.Body, spec blockSpec) bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	known := map[string]bool{}
	for _, b := range spec.Blocks {
		known[b.Type] = true
	}
	for _, b := range sb.Blocks {
		if !known[b.Type] {
			return true
		}
	}
	return false
}
