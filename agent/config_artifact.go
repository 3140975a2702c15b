package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
)

// fileArtifact is the client's artifact block, the keys of Nomad's that
// govern which host paths an artifact's local source may read:
//
//	client {
//	  artifact {
//	    disable_filesystem_isolation     = false
//	    filesystem_isolation_extra_paths = ["d:r:/srv/artifacts"]
//	  }
//	}
//
// Nomad's other keys (timeouts, size limits) are accepted and ignored.
type fileArtifact struct {
	DisableFilesystemIsolation *bool    `hcl:"disable_filesystem_isolation,optional"`
	ExtraPaths                 []string `hcl:"filesystem_isolation_extra_paths,optional"`
	Remain                     hcl.Body `hcl:",remain"`
}

// applyArtifact applies the client block's artifact block; a later file
// replaces what an earlier one set.
func (cl *fileClient) applyArtifact(c *Config) error {
	fa := cl.Artifact
	if fa == nil {
		return nil
	}
	setBool(&c.Client.Artifact.DisableFilesystemIsolation, fa.DisableFilesystemIsolation)
	if fa.ExtraPaths == nil {
		return nil
	}
	c.Client.Artifact.ExtraPaths = nil
	for _, s := range fa.ExtraPaths {
		p, err := allocrunner.ParseIsolationPath(s)
		if err != nil {
			return fmt.Errorf("%s: client.artifact.filesystem_isolation_extra_paths: %w", loc(fa.Remain.MissingItemRange()), err)
		}
		c.Client.Artifact.ExtraPaths = append(c.Client.Artifact.ExtraPaths, p)
	}
	return nil
}
