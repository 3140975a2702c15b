package jobspec

import (
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var groupSpec = blockSpec{
	Attrs: []string{"count", "meta", "shutdown_delay", "max_client_disconnect"},
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
		{Type: "update"},
		{Type: "migrate"},
		{Type: "disconnect"},
		{Type: "service"},
		{Type: "volume", LabelNames: []string{"name"}},
		{Type: "scaling"},
	},
	Unsupported: []string{"stop_after_client_disconnect", "prevent_reschedule_on_lost"},
	Features:    []string{"consul", "vault"},
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
	_, countSet := a["count"]
	if countSet {
		d.recordRange(path+".Count", a["count"].Expr.Range())
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
	if tg.ReschedulePolicy == nil && d.jobReschedule != nil {
		rp := *d.jobReschedule
		tg.ReschedulePolicy = &rp
	}
	if eb := d.single(c, "ephemeral_disk"); eb != nil {
		tg.EphemeralDisk = d.decodeEphemeralDisk(eb)
		d.recordRange(path+".EphemeralDisk", eb.DefRange)
	}
	if ub := d.single(c, "update"); ub != nil {
		base := d.jobUpdate
		if base == nil {
			base = structs.DefaultUpdateStrategy()
		}
		tg.Update = d.decodeUpdate(ub, base, path+".Update")
	}
	if mb := d.single(c, "migrate"); mb != nil {
		base := d.jobMigrate
		if base == nil {
			base = defaultMigrate()
		}
		tg.Migrate = d.decodeMigrate(mb, base)
		d.recordRange(path+".Migrate", mb.DefRange)
	} else if d.jobMigrate != nil {
		m := *d.jobMigrate
		tg.Migrate = &m
	}
	var mcd time.Duration
	if d.setDuration(a, "max_client_disconnect", &mcd) {
		tg.MaxClientDisconnect = &mcd
		d.recordRange(path+".MaxClientDisconnect", a["max_client_disconnect"].Expr.Range())
	}
	if db := d.single(c, "disconnect"); db != nil {
		if lost := d.decodeDisconnect(db); lost != nil {
			if attr, ok := a["max_client_disconnect"]; ok {
				d.errorf(attr.NameRange, "Conflicting disconnect",
					"set either max_client_disconnect or disconnect { lost_after }, not both; max_client_disconnect is deprecated in Nomad")
			}
			tg.MaxClientDisconnect = lost
		}
	}
	if nb := d.single(c, "network"); nb != nil {
		tg.Networks = []*structs.NetworkResource{d.decodeNetwork(nb)}
		d.recordRange(path+".Networks[0]", nb.DefRange)
	}
	tg.Services = d.decodeServices(c, path)
	tg.Volumes = d.decodeVolumes(c, path)
	d.decodeScaling(c, tg, countSet, path)

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
	if len(seen) == 0 && !d.hasUnknownBlocks(b.Body, groupSpec) {
		d.errorf(b.DefRange, "Missing task", "group %q has no task block; add at least one task, for example task \"app\" { driver = \"raw_exec\" ... }", tg.Name)
	}
	return tg
}

// hasUnknownBlocks reports whether body holds a block spec does not know
// (already reported, perhaps a misspelled task).
func (d *decoder) hasUnknownBlocks(body hcl.Body, spec blockSpec) bool {
	sb := d.syntaxOf(body)
	if sb == nil {
		return false
	}
	known := map[string]bool{}
	for _, b := range spec.Blocks {
		known[b.Type] = true
	}
	for _, b := range sb.Blocks {
		if typ, _, _ := blockType(b); !known[typ] {
			return true
		}
	}
	return false
}
