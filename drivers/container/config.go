package container

import (
	"fmt"
	"path"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/nomadlike/nomadlike/drivers/supervised"
)

// taskConfig is the decoded config block of a container task. Its keys are
// those of Nomad's docker driver, so a docker job needs only
// driver = "container".
type taskConfig struct {
	Image          imageSource
	Command        string
	Args           []string
	Entrypoint     []string
	Ports          []string
	Volumes        []volume
	Hostname       string
	WorkDir        string
	User           string
	CapAdd         []string
	CapDrop        []string
	ReadonlyRootfs bool
	ForcePull      bool
	CPUHardLimit   bool
	CPUCFSPeriod   int64
	// PidsLimit caps the container's processes (0: the client's limit).
	PidsLimit int64
	// Labels become the container's OCI annotations (docker's labels).
	Labels map[string]string
	// NetworkMode is docker's network_mode: "" or "host" (the host's
	// network, or the group's own), "bridge" (the group's bridge network).
	NetworkMode string
}

// volume is one "host:container[:ro|rw]" entry of config.volumes.
type volume struct {
	Host      string
	Container string
	ReadOnly  bool
}

// knownKeys lists the accepted config keys.
var knownKeys = []string{
	"image", "command", "args", "entrypoint", "ports", "volumes", "hostname", "work_dir", "user",
	"cap_add", "cap_drop", "readonly_rootfs", "force_pull", "cpu_hard_limit", "cpu_cfs_period", "pids_limit",
	"labels", "network_mode",
}

// dockerOnlyKeys are docker driver keys this driver does not implement.
var dockerOnlyKeys = map[string]string{
	"auth":        "registry credentials come from the docker config file (~/.docker/config.json) of the client's user",
	"privileged":  "privileged containers are not supported",
	"mount":       "use volumes",
	"port_map":    "use ports with the group network block",
	"logging":     "logs always go to the task's log files",
	"dns_servers": "the container uses the host's /etc/resolv.conf",
}

// ValidateConfig checks a task's config block; every problem names its key.
func (d *Driver) ValidateConfig(cfg map[string]any) error {
	_, err := parseConfig(cfg)
	return err
}

// parseConfig decodes and validates the config block.
func parseConfig(cfg map[string]any) (*taskConfig, error) {
	c := supervised.NewConfigDecoder(cfg)
	add, str, list, boolean := c.Add, c.String, c.List, c.Bool

	var tc taskConfig
	if img := str("image"); strings.TrimSpace(img) == "" {
		if _, ok := cfg["image"]; !ok {
			add("image", `required: the image to run, e.g. "docker.io/library/busybox:1.36" or "oci-layout:///srv/images/app"`)
		} else {
			add("image", "must not be empty")
		}
	} else if src, err := parseImage(img); err != nil {
		add("image", "%v", err)
	} else {
		tc.Image = src
	}
	tc.Command = str("command")
	tc.Args = list("args")
	tc.Entrypoint = list("entrypoint")
	tc.Ports = list("ports")
	for i, v := range list("volumes") {
		vol, err := parseVolume(v)
		if err != nil {
			add(fmt.Sprintf("volumes[%d]", i), "%v", err)
			continue
		}
		tc.Volumes = append(tc.Volumes, vol)
	}
	tc.Hostname = str("hostname")
	if len(tc.Hostname) > 63 || strings.ContainsAny(tc.Hostname, " /\t") {
		add("hostname", "%q is not a valid host name (at most 63 characters, no spaces or slashes)", tc.Hostname)
	}
	tc.WorkDir = str("work_dir")
	if tc.WorkDir != "" && !path.IsAbs(tc.WorkDir) {
		add("work_dir", "%q must be an absolute path inside the container", tc.WorkDir)
	}
	tc.User = str("user")
	tc.CapAdd = list("cap_add")
	tc.CapDrop = list("cap_drop")
	for key, caps := range map[string][]string{"cap_add": tc.CapAdd, "cap_drop": tc.CapDrop} {
		for _, c := range caps {
			if _, err := normalizeCap(c); err != nil {
				add(key, "%v", err)
			}
		}
	}
	tc.ReadonlyRootfs = boolean("readonly_rootfs")
	tc.ForcePull = boolean("force_pull")
	tc.CPUHardLimit = boolean("cpu_hard_limit")
	if raw, ok := cfg["cpu_cfs_period"]; ok && raw != nil {
		n, ok := toInt(raw)
		if !ok || n < 1000 || n > 1000000 {
			add("cpu_cfs_period", "must be a number of microseconds between 1000 and 1000000")
		}
		tc.CPUCFSPeriod = n
	}
	if raw, ok := cfg["pids_limit"]; ok && raw != nil {
		n, ok := toInt(raw)
		if !ok || n < 1 {
			add("pids_limit", "must be a positive number of processes (the client's plugin \"container\" pids_limit applies when it is unset)")
		}
		tc.PidsLimit = n
	}

	tc.Labels = stringMap(cfg["labels"], func(format string, args ...any) { add("labels", format, args...) })
	switch mode := str("network_mode"); mode {
	case "", "host", "default", "bridge":
		// The host's network, or the group's when it has a network of its
		// own (network { mode = "bridge" }): the container joins it;
		// "bridge" needs that group network (checked at start).
		tc.NetworkMode = mode
	default:
		add("network_mode", "%q is not supported by the container driver: a task uses the host's network, or its group's (network { mode = \"bridge\" } in the group); remove network_mode or set it to \"host\"", mode)
	}
	for _, k := range c.Unknown(knownKeys) {
		if why, ok := dockerOnlyKeys[k]; ok {
			add(k, "docker driver key not supported by the container driver: %s; remove it", why)
			continue
		}
		add(k, "unknown key: the container driver accepts %s", strings.Join(knownKeys, ", "))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return &tc, nil
}

// parseVolume parses "host:container[:ro|rw]".
func parseVolume(s string) (volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return volume{}, fmt.Errorf(`%q: want "host_path:container_path" or "host_path:container_path:ro"`, s)
	}
	v := volume{Host: parts[0], Container: parts[1]}
	if !path.IsAbs(v.Container) {
		return volume{}, fmt.Errorf("%q: the container path %q must be absolute", s, v.Container)
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.ReadOnly = true
		case "rw":
		default:
			return volume{}, fmt.Errorf(`%q: mode %q must be "ro" or "rw"`, s, parts[2])
		}
	}
	return v, nil
}

// normalizeCap turns "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" into
// "CAP_NET_ADMIN"; "ALL" stays "ALL".
func normalizeCap(c string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(c))
	if u == "ALL" {
		return u, nil
	}
	u = strings.TrimPrefix(u, "CAP_")
	for _, k := range capability.ListKnown() {
		if strings.ToUpper(k.String()) == u {
			return "CAP_" + u, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q (e.g. \"NET_ADMIN\", \"SYS_TIME\")", c)
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		return int64(n), float64(int64(n)) == n
	default:
		return 0, false
	}
}

// stringMap decodes a map of strings written as an attribute (labels = {
// a = "b" }) or a block (labels { a = "b" }, decoded as a list of maps).
func stringMap(raw any, fail func(format string, args ...any)) map[string]string {
	var maps []map[string]any
	switch v := raw.(type) {
	case nil:
		return nil
	case map[string]any:
		maps = append(maps, v)
	case []any:
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				fail("must be a map of strings, got %T", e)
				return nil
			}
			maps = append(maps, m)
		}
	default:
		fail("must be a map of strings, got %T", raw)
		return nil
	}
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			sv, ok := v.(string)
			if !ok {
				fail("%q must be a string, got %T", k, v)
				continue
			}
			out[k] = sv
		}
	}
	return out
}
