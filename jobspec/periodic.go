package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var periodicSpec = blockSpec{
	Attrs: []string{"cron", "crons", "enabled", "prohibit_overlap", "time_zone"},
}

// decodePeriodic decodes a job's periodic block; enabled defaults to true.
// Either cron (deprecated in Nomad) or crons must be set, not both. Cron
// expressions and the time zone are checked by job.Validate, whose errors
// are located at the expression in question.
func (d *decoder) decodePeriodic(b *hcl.Block) *structs.PeriodicConfig {
	p := &structs.PeriodicConfig{Enabled: true, SpecType: structs.PeriodicSpecCron}
	d.recordRange("Periodic", b.DefRange)
	c := d.content(b.Body, periodicSpec)
	a := c.Attributes
	d.setBool(a, "enabled", &p.Enabled)
	d.setBool(a, "prohibit_overlap", &p.ProhibitOverlap)
	d.setString(a, "time_zone", &p.TimeZone)
	if attr, ok := a["time_zone"]; ok {
		d.recordRange("Periodic.TimeZone", attr.Expr.Range())
	}
	d.setString(a, "cron", &p.Spec)
	cron, hasCron := a["cron"]
	if hasCron {
		d.recordRange("Periodic.Spec[0]", cron.Expr.Range())
	}
	crons, hasCrons := a["crons"]
	if hasCrons {
		d.setStringList(a, "crons", &p.Specs)
		elems, diags := hcl.ExprList(crons.Expr)
		for i := range p.Specs {
			r := crons.Expr.Range()
			if !diags.HasErrors() && len(elems) == len(p.Specs) {
				r = elems[i].Range()
			}
			offset := 0
			if p.Spec != "" {
				offset = 1
			}
			d.recordRange(fmt.Sprintf("Periodic.Spec[%d]", i+offset), r)
		}
	}
	switch {
	case hasCron && hasCrons:
		d.errorf(crons.NameRange, "Conflicting periodic", "set either cron or crons, not both; cron is deprecated: write crons = [%q]", p.Spec)
	case !hasCron && !hasCrons && p.Enabled:
		d.errorf(b.DefRange, "Missing cron", "a periodic block needs crons, for example crons = [\"*/15 * * * *\"]")
	case hasCron && p.Spec == "" && p.Enabled:
		d.errorf(cron.Expr.Range(), "Missing cron", "cron is empty; give a cron expression such as \"@daily\"")
	case hasCrons && len(p.Specs) == 0 && p.Enabled:
		d.errorf(crons.Expr.Range(), "Missing cron", "crons is empty; give at least one cron expression such as \"@daily\"")
	}
	return p
}

var parameterizedSpec = blockSpec{Attrs: []string{"payload", "meta_required", "meta_optional"}}

// decodeParameterized decodes a job's parameterized block; payload defaults
// to "optional".
func (d *decoder) decodeParameterized(b *hcl.Block) *structs.ParameterizedJobConfig {
	p := &structs.ParameterizedJobConfig{Payload: structs.DispatchPayloadOptional}
	d.recordRange("ParameterizedJob", b.DefRange)
	c := d.content(b.Body, parameterizedSpec)
	a := c.Attributes
	if attr, ok := a["payload"]; ok {
		d.setString(a, "payload", &p.Payload)
		switch p.Payload {
		case structs.DispatchPayloadOptional, structs.DispatchPayloadRequired, structs.DispatchPayloadForbidden:
		default:
			d.errorf(attr.Expr.Range(), "Invalid payload",
				"payload must be \"optional\", \"required\" or \"forbidden\", got %q", p.Payload)
		}
	}
	d.setStringList(a, "meta_required", &p.MetaRequired)
	d.setStringList(a, "meta_optional", &p.MetaOptional)
	if attr, ok := a["meta_optional"]; ok {
		for _, k := range p.MetaOptional {
			for _, r := range p.MetaRequired {
				if k == r {
					d.errorf(attr.Expr.Range(), "Conflicting meta", "meta key %q is both required and optional; list it in one of meta_required and meta_optional", k)
				}
			}
		}
	}
	return p
}
