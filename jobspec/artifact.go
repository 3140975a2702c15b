package jobspec

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var artifactSpec = blockSpec{
	Attrs:       []string{"source", "destination", "mode", "options", "headers"},
	Blocks:      []hcl.BlockHeaderSchema{{Type: "options"}, {Type: "headers"}},
	Unsupported: []string{"chown"},
}

// decodeArtifact decodes an artifact block:
//
//	artifact {
//	  source      = "https://example.com/app.tar.gz"
//	  destination = "local/app"      # relative to the task dir; default local/
//	  mode        = "any"            # any, file or dir
//	  options { checksum = "sha256:..." }
//	  headers { Authorization = "Bearer ..." }
//	}
func (d *decoder) decodeArtifact(b *hcl.Block) *structs.TaskArtifact {
	c := d.content(b.Body, artifactSpec)
	a := &structs.TaskArtifact{}
	d.setString(c.Attributes, "source", &a.GetterSource)
	if _, ok := c.Attributes["source"]; !ok {
		d.errorf(b.DefRange, "Missing artifact source",
			"an artifact block needs a source, for example source = \"https://example.com/app.tar.gz\"")
	}
	d.setString(c.Attributes, "destination", &a.RelativeDest)
	d.setString(c.Attributes, "mode", &a.GetterMode)
	for _, name := range []string{"options", "headers"} {
		if len(blocksOf(c, name)) > 1 {
			d.single(c, name) // reports the repeat
		}
	}
	a.GetterOptions = d.mapAttrOrBlock(c, "options")
	a.GetterHeaders = d.mapAttrOrBlock(c, "headers")
	return a
}
