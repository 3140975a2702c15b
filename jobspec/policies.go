package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var restartSpec = blockSpec{
	Attrs: []string{"attempts", "interval", "delay", "mode", "render_templates"},
}

// decodeRestart decodes a restart block over base: unset fields keep base's
// values, as Nomad merges a partial restart block with its defaults.
func (d *decoder) decodeRestart(b *hcl.Block, base *structs.RestartPolicy) *structs.RestartPolicy {
	p := base.Copy()
	c := d.content(b.Body, restartSpec)
	a := c.Attributes
	if d.setInt(a, "attempts", &p.Attempts) && p.Attempts < 0 {
		d.errorf(a["attempts"].Expr.Range(), "Invalid restart attempts", "attempts cannot be negative, got %d", p.Attempts)
	}
	d.setDuration(a, "interval", &p.Interval)
	d.setDuration(a, "delay", &p.Delay)
	d.setBool(a, "render_templates", &p.RenderTemplates)
	if attr, ok := a["mode"]; ok {
		d.setString(a, "mode", &p.Mode)
		if p.Mode != structs.RestartModeFail && p.Mode != structs.RestartModeDelay {
			d.errorf(attr.Expr.Range(), "Invalid restart mode", "mode must be \"fail\" or \"delay\", got %q", p.Mode)
		}
	}
	return p
}

var rescheduleSpec = blockSpec{
	Attrs: []string{"attempts", "interval", "delay", "delay_function", "max_delay", "unlimited"},
}

// decodeReschedule decodes a reschedule block over the job's block, if it
// has one, or the job type's defaults.
func (d *decoder) decodeReschedule(b *hcl.Block) *structs.ReschedulePolicy {
	p := structs.DefaultReschedulePolicy(d.jobType)
	if d.jobReschedule != nil {
		cp := *d.jobReschedule
		p = &cp
	}
	c := d.content(b.Body, rescheduleSpec)
	a := c.Attributes
	if d.setInt(a, "attempts", &p.Attempts) && p.Attempts < 0 {
		d.errorf(a["attempts"].Expr.Range(), "Invalid reschedule attempts", "attempts cannot be negative, got %d", p.Attempts)
	}
	d.setDuration(a, "interval", &p.Interval)
	d.setDuration(a, "delay", &p.Delay)
	d.setDuration(a, "max_delay", &p.MaxDelay)
	d.setBool(a, "unlimited", &p.Unlimited)
	if attr, ok := a["delay_function"]; ok {
		d.setString(a, "delay_function", &p.DelayFunction)
		switch p.DelayFunction {
		case "constant", "exponential", "fibonacci":
		default:
			d.errorf(attr.Expr.Range(), "Invalid delay function",
				"delay_function must be \"constant\", \"exponential\" or \"fibonacci\", got %q", p.DelayFunction)
		}
	}
	return p
}

var ephemeralDiskSpec = blockSpec{Attrs: []string{"size", "sticky", "migrate"}}

// decodeEphemeralDisk decodes an ephemeral_disk block; size defaults to 300 MB.
func (d *decoder) decodeEphemeralDisk(b *hcl.Block) *structs.EphemeralDisk {
	e := &structs.EphemeralDisk{SizeMB: 300}
	c := d.content(b.Body, ephemeralDiskSpec)
	a := c.Attributes
	if d.setInt(a, "size", &e.SizeMB) && e.SizeMB < 0 {
		d.errorf(a["size"].Expr.Range(), "Invalid disk size", "size (MB) cannot be negative, got %d", e.SizeMB)
	}
	d.setBool(a, "sticky", &e.Sticky)
	d.setBool(a, "migrate", &e.Migrate)
	return e
}

var logsSpec = blockSpec{Attrs: []string{"max_files", "max_file_size", "disabled", "enabled"}}

// decodeLogs decodes a logs block over Nomad's defaults (10 files of 10 MB).
func (d *decoder) decodeLogs(b *hcl.Block) *structs.LogConfig {
	l := structs.DefaultLogConfig()
	c := d.content(b.Body, logsSpec)
	a := c.Attributes
	if d.setInt(a, "max_files", &l.MaxFiles) && l.MaxFiles < 1 {
		d.errorf(a["max_files"].Expr.Range(), "Invalid max_files", "max_files must be at least 1, got %d", l.MaxFiles)
	}
	if d.setInt(a, "max_file_size", &l.MaxFileSizeMB) && l.MaxFileSizeMB < 1 {
		d.errorf(a["max_file_size"].Expr.Range(), "Invalid max_file_size", "max_file_size (MB) must be at least 1, got %d", l.MaxFileSizeMB)
	}
	d.setBool(a, "disabled", &l.Disabled)
	if _, ok := a["enabled"]; ok {
		enabled := true
		d.setBool(a, "enabled", &enabled)
		l.Disabled = !enabled
	}
	return l
}

var resourcesSpec = blockSpec{
	Attrs:       []string{"cpu", "cores", "memory", "memory_max", "disk"},
	Blocks:      []hcl.BlockHeaderSchema{{Type: "network"}},
	Unsupported: []string{"device", "numa", "iops", "secrets"},
}

// decodeResources decodes a resources block; cpu and memory default to
// Nomad's 100 MHz and 300 MB unless cores is set.
func (d *decoder) decodeResources(b *hcl.Block) *structs.Resources {
	r := structs.DefaultResources()
	c := d.content(b.Body, resourcesSpec)
	a := c.Attributes
	for _, f := range []struct {
		name string
		dst  *int
		min  int
	}{
		{"cpu", &r.CPU, 1}, {"cores", &r.Cores, 0}, {"memory", &r.MemoryMB, 10},
		{"memory_max", &r.MemoryMaxMB, structs.MemoryNoLimit}, {"disk", &r.DiskMB, 0},
	} {
		if d.setInt(a, f.name, f.dst) && *f.dst < f.min {
			d.errorf(a[f.name].Expr.Range(), "Invalid resources", "%s must be at least %d, got %d", f.name, f.min, *f.dst)
		}
	}
	if _, ok := a["cores"]; ok {
		if _, cpu := a["cpu"]; cpu {
			d.errorf(a["cores"].NameRange, "Conflicting resources", "set either cpu or cores, not both")
		} else {
			r.CPU = 0
		}
	}
	if mm, ok := a["memory_max"]; ok && r.MemoryMaxMB > 0 && r.MemoryMaxMB < r.MemoryMB {
		d.errorf(mm.Expr.Range(), "Invalid resources", "memory_max (%d MB) is less than memory (%d MB); set it to at least memory, or to -1 for no limit", r.MemoryMaxMB, r.MemoryMB)
	}
	for _, nb := range blocksOf(c, "network") {
		r.Networks = append(r.Networks, d.decodeNetwork(nb))
	}
	return r
}
