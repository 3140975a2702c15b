package agent

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// Agent config keys Nomad operators and Nomad's test harnesses set that
// nomadlike does not implement: accepted when they ask for nothing we lack
// (disabled, unused, at their default), refused by name otherwise.
//
//   - disable_update_check: nomadlike never checks for updates.
//   - vault { enabled = false }: accepted; enabled = true is refused.
//   - consul { ... }: accepted and unused (nomadlike registers services with
//     its own service discovery, provider = "nomad").
//   - telemetry { ... }: accepted; metrics are always served in Prometheus
//     format at /v1/metrics.
//   - client { options = { ... } }: accepted and unused.

// fileVault is the vault block: only a disabled one is accepted.
type fileVault struct {
	Enabled *bool    `hcl:"enabled,optional"`
	Remain  hcl.Body `hcl:",remain"`
}

// fileIgnored is a block nomadlike accepts whole and does not use.
type fileIgnored struct {
	Remain hcl.Body `hcl:",remain"`
}

// applyCompat checks the accepted-but-unimplemented keys.
func (fc *fileConfig) applyCompat() error {
	if v := fc.Vault; v != nil && v.Enabled != nil && *v.Enabled {
		return fmt.Errorf("vault { enabled = true }: nomadlike has no Vault integration; remove the vault block or set enabled = false (templates can read nomadService and env)")
	}
	return nil
}
