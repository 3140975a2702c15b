package agent

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/qemu"
)

// qemuPluginConfig is the body of plugin "qemu" { config { ... } }, with
// Nomad's key names.
type qemuPluginConfig struct {
	ImagePaths    []string `hcl:"image_paths,optional"`
	ArgsAllowlist []string `hcl:"args_allowlist,optional"`
}

// buildQEMU builds the qemu driver. It is always on, as in Nomad: on a node
// without QEMU it fingerprints as undetected with the reason.
func buildQEMU(env pluginEnv, _ *Config, body hcl.Body) (drivers.Driver, error) {
	var pc qemuPluginConfig
	if body != nil {
		if diags := gohcl.DecodeBody(body, nil, &pc); diags.HasErrors() {
			return nil, diagError(diags)
		}
	}
	for _, p := range pc.ImagePaths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("image_paths: %q is not an absolute path; list host directories such as \"/srv/vm-images\"", p)
		}
	}
	return qemu.New(qemu.Config{ImagePaths: pc.ImagePaths, ArgsAllowlist: pc.ArgsAllowlist}, env.Logger), nil
}
