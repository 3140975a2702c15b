package agent

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/rawexec"
)

// pluginEnv is what a driver factory may use to build its driver.
type pluginEnv struct {
	// DataDir is the agent's data dir (drivers keep caches under it).
	DataDir string
	// Dev is set under -dev.
	Dev    bool
	Logger *slog.Logger
}

// pluginFactory builds one task driver from its `plugin "<name>" { config { ... } }`
// block. body is nil when the agent config has no block for the driver. A
// driver that is off returns (nil, nil); a bad config returns an error with
// the file:line:col of the offending key.
type pluginFactory struct {
	name  string
	build func(env pluginEnv, cfg *Config, body hcl.Body) (drivers.Driver, error)
	// more, optional, returns the drivers the built one also serves under
	// other names (the container driver as docker and exec).
	more func(d drivers.Driver, body hcl.Body) ([]drivers.Driver, error)
}

// pluginFactories lists every task driver nomadlike ships, in the order the
// client fingerprints them. Add a driver here (one line) with its factory in
// a file of its own (plugin_<name>.go).
func pluginFactories() []pluginFactory {
	return []pluginFactory{
		{name: "raw_exec", build: buildRawExec},
		{name: "qemu", build: buildQEMU},
		{name: "container", build: buildContainer, more: containerAliases},
	}
}

func pluginNames() []string {
	var names []string
	for _, f := range pluginFactories() {
		names = append(names, f.name)
	}
	return names
}

func lookupPlugin(name string) (pluginFactory, bool) {
	i := slices.IndexFunc(pluginFactories(), func(f pluginFactory) bool { return f.name == name })
	if i < 0 {
		return pluginFactory{}, false
	}
	return pluginFactories()[i], true
}

func unsupportedPlugin(name string) string {
	return fmt.Sprintf("plugin %q is not supported by nomadlike (supported: %q); remove the block", name, strings.Join(pluginNames(), `", "`))
}

// buildDrivers builds every enabled driver.
func buildDrivers(env pluginEnv, cfg *Config) ([]drivers.Driver, error) {
	var out []drivers.Driver
	for _, f := range pluginFactories() {
		d, err := f.build(env, cfg, cfg.PluginConfigs[f.name])
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", f.name, err)
		}
		if d == nil {
			continue
		}
		out = append(out, d)
		if f.more != nil {
			more, err := f.more(d, cfg.PluginConfigs[f.name])
			if err != nil {
				return nil, fmt.Errorf("plugin %q: %w", f.name, err)
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// buildRawExec: raw_exec runs tasks unisolated, so it is off unless the agent
// config (or -dev) enables it, as in Nomad. Its config body was decoded into
// cfg.RawExec by the config parser.
func buildRawExec(env pluginEnv, cfg *Config, _ hcl.Body) (drivers.Driver, error) {
	if !cfg.RawExec.Enabled {
		return nil, nil
	}
	return rawexec.New(rawexec.Config{Enabled: true}, env.Logger), nil
}
