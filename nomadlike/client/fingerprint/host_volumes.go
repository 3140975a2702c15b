package fingerprint

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// HostVolumes checks the client's host_volume blocks and returns them as
// the node reports them (Node.HostVolumes): each needs an absolute path
// that exists on this host. An error names every bad block, so the agent
// refuses to start rather than advertise a volume it cannot mount.
func HostVolumes(cfg map[string]*structs.ClientHostVolumeConfig) (map[string]*structs.ClientHostVolumeConfig, error) {
	if len(cfg) == 0 {
		return nil, nil
	}
	out := make(map[string]*structs.ClientHostVolumeConfig, len(cfg))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(cfg)) {
		hv := cfg[name]
		if hv == nil {
			continue
		}
		switch {
		case hv.Path == "":
			errs = append(errs, fmt.Errorf("host_volume %q: path is required, for example path = \"/srv/%s\"", name, name))
			continue
		case !filepath.IsAbs(hv.Path):
			errs = append(errs, fmt.Errorf("host_volume %q: path %q must be absolute", name, hv.Path))
			continue
		}
		if _, err := os.Stat(hv.Path); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("host_volume %q: path %s does not exist; create it or fix the path", name, hv.Path))
			} else {
				errs = append(errs, fmt.Errorf("host_volume %q: path %s: %w", name, hv.Path, err))
			}
			continue
		}
		out[name] = &structs.ClientHostVolumeConfig{Name: name, Path: filepath.Clean(hv.Path), ReadOnly: hv.ReadOnly}
	}
	return out, errors.Join(errs...)
}
