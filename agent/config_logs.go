package agent

import (
	"fmt"
	"math"

	"github.com/hashicorp/hcl/v2"
)

// fileLogsRetention is the client's logs_retention block (beyond Nomad):
// the tail of a garbage collected allocation's task logs stays readable.
//
//	client {
//	  logs_retention {
//	    enabled = true   # default
//	    max_mb  = 100    # the whole retention area, MiB
//	    max_age = "24h"  # after the allocation's collection
//	  }
//	}
type fileLogsRetention struct {
	Enabled *bool          `hcl:"enabled,optional"`
	MaxMB   hcl.Expression `hcl:"max_mb,optional"`
	MaxAge  hcl.Expression `hcl:"max_age,optional"`
}

// applyLogsRetention applies the client block's logs_retention block.
func (cl *fileClient) applyLogsRetention(c *Config) error {
	fl := cl.LogsRetention
	if fl == nil {
		return nil
	}
	r := &c.Client.LogsRetention
	if fl.Enabled != nil {
		r.Disabled = !*fl.Enabled
	}
	if v, ok, err := numberAttr(fl.MaxMB, "max_mb"); err != nil {
		return err
	} else if ok {
		if v < 1 || v != math.Trunc(v) || v > math.MaxInt32 {
			return fmt.Errorf("%s: logs_retention max_mb = %v must be a whole number of MiB, 1 or more (to keep nothing, set enabled = false)", loc(fl.MaxMB.Range()), v)
		}
		r.MaxMB = int(v)
	}
	return setDuration(&r.MaxAge, fl.MaxAge)
}
