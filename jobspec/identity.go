package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var identitySpec = blockSpec{
	Attrs: []string{"name", "aud", "change_mode", "change_signal", "env", "file", "filepath", "ttl", "extra_claims"},
}

// decodeIdentities decodes a task's identity blocks, as Nomad does: one
// without a name (or named "default") is the default identity, the others
// are named ones.
func (d *decoder) decodeIdentities(c *hcl.BodyContent, t *structs.Task, path string) {
	for _, b := range blocksOf(c, "identity") {
		bc := d.content(b.Body, identitySpec)
		a := bc.Attributes
		w := &structs.WorkloadIdentity{}
		d.setString(a, "name", &w.Name)
		d.setStringList(a, "aud", &w.Audience)
		d.setString(a, "change_mode", &w.ChangeMode)
		d.setString(a, "change_signal", &w.ChangeSignal)
		d.setBool(a, "env", &w.Env)
		d.setBool(a, "file", &w.File)
		d.setString(a, "filepath", &w.Filepath)
		d.setDuration(a, "ttl", &w.TTL)
		d.setStringList(a, "extra_claims", &w.ExtraClaims)
		if w.Name == "" || w.Name == structs.WorkloadIdentityDefaultName {
			w.Name = structs.WorkloadIdentityDefaultName
			if t.Identity != nil {
				d.errorf(b.DefRange, "Duplicate identity",
					"task %q has two default identity blocks; give the second a name (name = \"...\") and an audience", t.Name)
				continue
			}
			t.Identity = w
			d.recordRange(path+".Identity", b.DefRange)
			continue
		}
		fp := fmt.Sprintf("%s.Identities[%d]", path, len(t.Identities))
		t.Identities = append(t.Identities, w)
		d.recordRange(fp, b.DefRange)
	}
}

var actionSpec = blockSpec{Attrs: []string{"command", "args"}}

// decodeAction decodes a task's action "name" { command args } block.
func (d *decoder) decodeAction(b *hcl.Block) *structs.Action {
	act := &structs.Action{Name: b.Labels[0]}
	c := d.content(b.Body, actionSpec)
	d.setString(c.Attributes, "command", &act.Command)
	d.setStringList(c.Attributes, "args", &act.Args)
	if _, ok := c.Attributes["command"]; !ok {
		d.errorf(b.DefRange, "Missing command", "action %q needs a command, for example command = \"/bin/date\"", act.Name)
	}
	return act
}
