package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/container"
)

// containerPluginConfig is the body of plugin "container" { config { ... } }.
type containerPluginConfig struct {
	// Enabled defaults to true: the driver reports itself unhealthy, with
	// the reason, on hosts that cannot run containers.
	Enabled *bool `hcl:"enabled,optional"`
	// ImageGC (default true) removes images no task used for ImageGCDelay.
	ImageGC      *bool   `hcl:"image_gc,optional"`
	ImageGCDelay *string `hcl:"image_gc_delay,optional"`
	// PullTimeout bounds one registry pull (default 5m).
	PullTimeout *string `hcl:"pull_timeout,optional"`
	// AllowCaps are the capabilities tasks may add with cap_add.
	AllowCaps []string `hcl:"allow_caps,optional"`
	// Volumes { enabled = true } (Nomad's docker setting, off by default)
	// lets tasks bind host paths outside their allocation; VolumesEnabled
	// is the older spelling of the same switch.
	Volumes        *volumesBlock `hcl:"volumes,block"`
	VolumesEnabled *bool         `hcl:"volumes_enabled,optional"`
	// ImagePaths are the host directories local images may be read from
	// (as qemu's image_paths); none by default.
	ImagePaths []string `hcl:"image_paths,optional"`
	// PidsLimit caps each container's processes (as Nomad's docker
	// pids_limit; unset: container.DefaultPidsLimit, 0: no limit).
	PidsLimit *int64 `hcl:"pids_limit,optional"`
	// DockerAlias (default: on when no Docker engine is present) serves
	// driver = "docker" tasks with this driver.
	DockerAlias *bool `hcl:"docker_alias,optional"`
	// ExecDriver (default true) serves driver = "exec" tasks with this
	// driver, in a root of host directories (chroot_env).
	ExecDriver *bool `hcl:"exec_driver,optional"`
	// ChrootEnv maps host paths to their paths in exec tasks (Nomad's
	// client chroot_env; unset: container.DefaultChrootEnv).
	ChrootEnv map[string]string `hcl:"chroot_env,optional"`
}

// volumesBlock is plugin "container" { config { volumes { ... } } }.
type volumesBlock struct {
	Enabled *bool `hcl:"enabled,optional"`
}

// buildContainer builds the container driver; its image cache lives in
// <data_dir>/container.
func buildContainer(env pluginEnv, _ *Config, body hcl.Body) (drivers.Driver, error) {
	var pc containerPluginConfig
	if body != nil {
		if diags := gohcl.DecodeBody(body, nil, &pc); diags.HasErrors() {
			return nil, diagError(diags)
		}
	}
	if pc.Enabled != nil && !*pc.Enabled {
		return nil, nil
	}
	for _, p := range pc.ImagePaths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("image_paths: %q is not an absolute path; list host directories such as \"/srv/images\"", p)
		}
	}
	var pids int64 // the driver's default
	if pc.PidsLimit != nil {
		switch {
		case *pc.PidsLimit < 0:
			return nil, fmt.Errorf("pids_limit = %d: want a number of processes per container, or 0 for no limit", *pc.PidsLimit)
		case *pc.PidsLimit == 0:
			pids = -1
		default:
			pids = *pc.PidsLimit
		}
	}
	cfg := container.Config{
		Enabled:        true,
		ImageGC:        pc.ImageGC == nil || *pc.ImageGC,
		AllowCaps:      pc.AllowCaps,
		ImagePaths:     pc.ImagePaths,
		PidsLimit:      pids,
		VolumesEnabled: (pc.VolumesEnabled != nil && *pc.VolumesEnabled) || (pc.Volumes != nil && pc.Volumes.Enabled != nil && *pc.Volumes.Enabled),
	}
	if env.DataDir != "" {
		cfg.CacheDir = filepath.Join(env.DataDir, "container")
	}
	if err := parseDuration("image_gc_delay", pc.ImageGCDelay, &cfg.ImageGCDelay); err != nil {
		return nil, err
	}
	if err := parseDuration("pull_timeout", pc.PullTimeout, &cfg.PullTimeout); err != nil {
		return nil, err
	}
	return container.New(cfg, env.Logger), nil
}

// parseDuration sets *dst from an optional duration setting.
func parseDuration(key string, src *string, dst *time.Duration) error {
	if src == nil {
		return nil
	}
	d, err := time.ParseDuration(*src)
	if err != nil || d <= 0 {
		return fmt.Errorf("config.%s = %q: want a positive duration such as \"3m\" or \"30s\"", key, *src)
	}
	*dst = d
	return nil
}

// dockerSocket is where a Docker engine listens; when it is there the
// docker alias is off unless docker_alias = true.
var dockerSocket = "/var/run/docker.sock"

// containerAliases returns the container driver as "docker" (Nomad's docker
// job specs run on it; off with docker_alias = false, and by default on a
// host with a Docker engine) and as "exec" (off with exec_driver = false).
func containerAliases(d drivers.Driver, body hcl.Body) ([]drivers.Driver, error) {
	cd, ok := d.(*container.Driver)
	if !ok {
		return nil, nil
	}
	var pc containerPluginConfig
	if body != nil {
		if diags := gohcl.DecodeBody(body, nil, &pc); diags.HasErrors() {
			return nil, diagError(diags)
		}
	}
	var out []drivers.Driver
	docker := pc.DockerAlias == nil || *pc.DockerAlias
	if pc.DockerAlias == nil {
		if _, err := os.Stat(dockerSocket); err == nil {
			docker = false // a Docker engine is here: leave "docker" to it
		}
	}
	if docker {
		out = append(out, cd.Alias("docker"))
	}
	if pc.ExecDriver == nil || *pc.ExecDriver {
		for host, task := range pc.ChrootEnv {
			if !filepath.IsAbs(host) || !filepath.IsAbs(task) {
				return nil, fmt.Errorf("chroot_env: %q = %q: both must be absolute paths (host path = path in the task)", host, task)
			}
		}
		var chroot map[string]string
		if len(pc.ChrootEnv) > 0 {
			chroot = pc.ChrootEnv
		}
		out = append(out, cd.Exec(chroot))
	}
	return out, nil
}
