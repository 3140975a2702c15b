package container

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
)

// cgroupRoot is where the host's cgroups are mounted; libcontainer only
// looks there.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupVersion reports "v2" when the host's cgroups are one cgroup2
// unified hierarchy, else "v1" (a v1 or hybrid layout). It is libcontainer's
// own test, so the driver's choices (where OOM kills are counted, whether
// swap is limited, which controllers the fingerprint requires) follow the
// cgroup manager libcontainer picks.
func cgroupVersion() string {
	if cgroups.IsCgroup2UnifiedMode() {
		return "v2"
	}
	return "v1"
}

// cgroupProblem returns why the cgroups at root (of the given version)
// cannot hold containers, "" when they can: v1 needs the memory
// controller's hierarchy, v2 needs the memory controller available at the
// root (cgroup.controllers), since the driver enforces a hard memory limit.
func cgroupProblem(root, version string) string {
	if _, err := os.Stat(root); err != nil {
		return fmt.Sprintf("container driver needs cgroups: mount cgroup v1 controllers or cgroup2 at %s", root)
	}
	if version == "v2" {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			return fmt.Sprintf("container driver cannot read the cgroup2 controllers: %v", err)
		}
		for _, c := range strings.Fields(string(b)) {
			if c == "memory" {
				return ""
			}
		}
		return fmt.Sprintf("container driver needs the cgroup2 memory controller, which %s/cgroup.controllers does not list (%q); enable it (on systemd hosts it is on by default; check the kernel's cgroup_disable= option)", root, strings.TrimSpace(string(b)))
	}
	if _, err := os.Stat(filepath.Join(root, "memory")); err != nil {
		return fmt.Sprintf("container driver needs the cgroup v1 memory controller at %s/memory (or a cgroup2 unified hierarchy)", root)
	}
	return ""
}
