package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var volumeSpec = blockSpec{
	Attrs:  []string{"type", "source", "read_only", "access_mode", "attachment_mode", "per_alloc", "sticky"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "mount_options"}},
}

// decodeVolumes decodes a group's volume blocks:
//
//	volume "data" {
//	  type      = "host"   # csi is refused: nomadlike has no CSI plugins
//	  source    = "data"   # a client's host_volume "data" { path = ... }
//	  read_only = true
//	}
//
// The checks of the values (type, source, CSI-only keys) are the job's
// validation, located here through the recorded ranges.
func (d *decoder) decodeVolumes(c *hcl.BodyContent, path string) map[string]*structs.VolumeRequest {
	blocks := blocksOf(c, "volume")
	if len(blocks) == 0 {
		return nil
	}
	out := map[string]*structs.VolumeRequest{}
	seen := map[string]*hcl.Block{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, ok := seen[name]; ok {
			d.errorf(b.LabelRanges[0], "Duplicate volume",
				"volume %q is already defined at line %d; volume names must be unique within a group", name, prev.DefRange.Start.Line)
			continue
		}
		seen[name] = b
		bc := d.content(b.Body, volumeSpec)
		a := bc.Attributes
		v := &structs.VolumeRequest{Name: name}
		d.setString(a, "type", &v.Type)
		d.setString(a, "source", &v.Source)
		d.setBool(a, "read_only", &v.ReadOnly)
		d.setString(a, "access_mode", &v.AccessMode)
		d.setString(a, "attachment_mode", &v.AttachmentMode)
		d.setBool(a, "per_alloc", &v.PerAlloc)
		d.setBool(a, "sticky", &v.Sticky)
		if mb := d.single(bc, "mount_options"); mb != nil {
			v.MountOptions = map[string]any{"block": true}
			d.recordRange(fmt.Sprintf("%s.Volumes[%q].MountOptions", path, name), mb.DefRange)
		}
		if v.Type == structs.VolumeTypeCSI {
			d.feature(a["type"].Expr.Range(), "csi")
			if d.lenient {
				if d.droppedVolumes == nil {
					d.droppedVolumes = map[string]bool{}
				}
				d.droppedVolumes[name] = true
				continue
			}
		}
		vp := fmt.Sprintf("%s.Volumes[%q]", path, name)
		d.recordRange(vp, b.DefRange)
		d.recordAttrRanges(a, vp+".", map[string]string{"type": "Type", "source": "Source", "access_mode": "AccessMode",
			"attachment_mode": "AttachmentMode", "per_alloc": "PerAlloc", "sticky": "Sticky"})
		out[name] = v
	}
	return out
}

var volumeMountSpec = blockSpec{
	Attrs: []string{"volume", "destination", "read_only", "propagation_mode", "selinux_label"},
}

// decodeVolumeMounts decodes a task's volume_mount blocks:
//
//	volume_mount {
//	  volume      = "data"   # a volume block of the group
//	  destination = "/data"  # the path inside the task
//	  read_only   = true
//	}
func (d *decoder) decodeVolumeMounts(c *hcl.BodyContent, path string) []*structs.VolumeMount {
	var out []*structs.VolumeMount
	for i, b := range blocksOf(c, "volume_mount") {
		bc := d.content(b.Body, volumeMountSpec)
		a := bc.Attributes
		m := &structs.VolumeMount{}
		d.setString(a, "volume", &m.Volume)
		d.setString(a, "destination", &m.Destination)
		d.setBool(a, "read_only", &m.ReadOnly)
		d.setString(a, "propagation_mode", &m.PropagationMode)
		d.setString(a, "selinux_label", &m.SELinuxLabel)
		if d.droppedVolumes[m.Volume] {
			continue // a CSI volume, reported as a feature
		}
		mp := fmt.Sprintf("%s.VolumeMounts[%d]", path, i)
		d.recordRange(mp, b.DefRange)
		d.recordAttrRanges(a, mp+".", map[string]string{"volume": "Volume", "destination": "Destination",
			"propagation_mode": "PropagationMode", "selinux_label": "SELinuxLabel"})
		out = append(out, m)
	}
	return out
}

var scalingSpec = blockSpec{
	Attrs:  []string{"min", "max", "enabled"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "policy"}},
}

// decodeScaling decodes a group's scaling block onto tg, with Nomad's
// defaults: min defaults to the group's count, enabled to true, and a group
// without count takes min. max is required. The policy block is kept for
// the leader's autoscaler (server/autoscaler.go) and `job inspect`.
func (d *decoder) decodeScaling(c *hcl.BodyContent, tg *structs.TaskGroup, countSet bool, path string) {
	b := d.single(c, "scaling")
	if b == nil {
		return
	}
	if len(b.Labels) > 0 {
		return // reported by content: the group's scaling block takes no label
	}
	bc := d.content(b.Body, scalingSpec)
	a := bc.Attributes
	p := &structs.ScalingPolicy{Type: structs.ScalingPolicyTypeHorizontal, Enabled: true, Max: -1}
	var lo, hi int
	minSet := d.setInt(a, "min", &lo)
	if minSet {
		p.Min = int64(lo)
		if !countSet {
			tg.Count = lo
		}
	} else {
		p.Min = int64(tg.Count)
	}
	if d.setInt(a, "max", &hi) {
		p.Max = int64(hi)
	} else if _, ok := a["max"]; !ok {
		d.errorf(b.DefRange, "Missing max", "a scaling block needs max, the largest count of the group, for example max = 10")
	}
	d.setBool(a, "enabled", &p.Enabled)
	if pb := d.single(bc, "policy"); pb != nil {
		p.Policy = d.decodePolicy(pb.Body)
	}
	d.recordRange(path+".Scaling", b.DefRange)
	d.recordAttrRanges(a, path+".Scaling.", map[string]string{"min": "Min", "max": "Max"})
	tg.Scaling = p
}
