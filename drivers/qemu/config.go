package qemu

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/drivers/supervised"
)

// Accelerators a task may ask for.
const (
	accelKVM = "kvm"
	accelTCG = "tcg"
)

// driveInterfaces are the values QEMU's -drive if= accepts.
var driveInterfaces = []string{"ide", "scsi", "sd", "mtd", "floppy", "pflash", "virtio", "none"}

// taskConfig is the decoded config block of a qemu task.
type taskConfig struct {
	ImagePath      string
	DriveInterface string
	Kernel         string
	Initrd         string
	KernelArgs     string
	// Accelerator is "" (the node's default), "kvm" or "tcg".
	Accelerator      string
	PortMap          map[string]int
	Args             []string
	GracefulShutdown bool
}

// knownKeys are the config keys the qemu driver accepts.
var knownKeys = []string{"image_path", "drive_interface", "kernel", "initrd", "kernel_args",
	"accelerator", "port_map", "args", "graceful_shutdown"}

// unsupportedKeys are Nomad qemu keys nomadlike does not implement.
var unsupportedKeys = map[string]string{
	"guest_agent": "the QEMU guest agent channel is not supported by nomadlike yet; remove the key",
}

// ValidateConfig checks a task's config block; every problem names its key.
func (d *Driver) ValidateConfig(cfg map[string]any) error {
	_, err := parseConfig(cfg)
	return err
}

// parseConfig decodes and validates the config block. It checks shape
// only; files and policies are checked when the task starts.
func parseConfig(cfg map[string]any) (*taskConfig, error) {
	c := supervised.NewConfigDecoder(cfg)
	add := c.Add
	str := func(key string) string { return strings.TrimSpace(c.String(key)) }
	tc := taskConfig{
		ImagePath:      str("image_path"),
		Kernel:         str("kernel"),
		Initrd:         str("initrd"),
		KernelArgs:     str("kernel_args"),
		Accelerator:    str("accelerator"),
		DriveInterface: str("drive_interface"),
	}

	if tc.ImagePath == "" && tc.Kernel == "" {
		add("image_path", `required: set image_path to a disk image (for example "local/disk.qcow2"), or kernel (and initrd) for a direct kernel boot`)
	}
	if tc.Kernel == "" {
		if tc.Initrd != "" {
			add("initrd", "needs kernel: an initrd is only used with a direct kernel boot")
		}
		if tc.KernelArgs != "" {
			add("kernel_args", "needs kernel: kernel arguments are only used with a direct kernel boot")
		}
	}
	switch tc.Accelerator {
	case "", accelKVM, accelTCG:
	default:
		add("accelerator", `unknown accelerator %q: use "kvm" (hardware virtualisation, needs a working /dev/kvm) or "tcg" (emulation), or remove the key to let the node choose`, tc.Accelerator)
	}
	if tc.DriveInterface == "" {
		tc.DriveInterface = "ide"
	}
	if !slices.Contains(driveInterfaces, tc.DriveInterface) {
		add("drive_interface", "unknown interface %q: use one of %s", tc.DriveInterface, strings.Join(driveInterfaces, ", "))
	}
	if raw, ok := cfg["graceful_shutdown"]; ok && raw != nil {
		b, ok := boolValue(raw)
		if !ok {
			add("graceful_shutdown", "must be true or false, got %v", raw)
		}
		tc.GracefulShutdown = b
	}
	if raw, ok := cfg["args"]; ok && raw != nil {
		args, ok := supervised.StringList(raw)
		if !ok {
			add("args", `must be a list of strings, for example ["-rtc", "base=utc"]`)
		}
		tc.Args = args
	}
	if raw, ok := cfg["port_map"]; ok && raw != nil {
		pm, errs := portMap(raw)
		for _, e := range errs {
			add("port_map", "%s", e)
		}
		tc.PortMap = pm
	}
	for _, k := range c.Unknown(knownKeys) {
		if why, ok := unsupportedKeys[k]; ok {
			add(k, "%s", why)
			continue
		}
		add(k, "unknown key: the qemu driver accepts %s", strings.Join(knownKeys, ", "))
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	return &tc, nil
}

// portMap decodes port_map, written as a map (port_map = { ssh = 22 }) or,
// as Nomad's HCL1 jobs do, as a block (port_map { ssh = 22 }), which the job
// spec decoder turns into a list of maps.
func portMap(raw any) (map[string]int, []string) {
	var maps []map[string]any
	switch v := raw.(type) {
	case map[string]any:
		maps = append(maps, v)
	case []any:
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, []string{fmt.Sprintf(`must map port labels to guest ports, for example { ssh = 22 }, got %T in a list`, e)}
			}
			maps = append(maps, m)
		}
	case map[string]int:
		out := make(map[string]int, len(v))
		for k, p := range v {
			out[k] = p
		}
		return out, nil
	default:
		return nil, []string{fmt.Sprintf(`must map port labels to guest ports, for example { ssh = 22 }, got %T`, raw)}
	}
	out := map[string]int{}
	var errs []string
	for _, m := range maps {
		for _, label := range sortedKeys(m) {
			p, ok := portNumber(m[label])
			if !ok {
				errs = append(errs, fmt.Sprintf("label %q: guest port must be a number from 1 to 65535, got %v", label, m[label]))
				continue
			}
			out[label] = p
		}
	}
	return out, errs
}

// portNumber accepts a port as an int, an integral float (JSON) or a
// decimal string (an interpolated "${...}").
func portNumber(v any) (int, bool) {
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case int64:
		n = int(x)
	case float64:
		if x != math.Trunc(x) || x > 65535 || x < 1 {
			return 0, false
		}
		n = int(x)
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			return 0, false
		}
		n = i
	default:
		return 0, false
	}
	return n, n >= 1 && n <= 65535
}

// boolValue accepts a bool or its string form (an interpolated value).
func boolValue(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	default:
		return false, false
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
