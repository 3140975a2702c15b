package fingerprint

import (
	"context"
	"maps"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Drivers fingerprints each driver. It returns Node.Drivers and the
// attributes to merge into Node.Attributes: driver.<name> = "1" for a
// healthy driver, plus the driver's own driver.<name>.* attributes.
func Drivers(ctx context.Context, ds []drivers.Driver) (map[string]*structs.DriverInfo, map[string]string) {
	infos := map[string]*structs.DriverInfo{}
	attrs := map[string]string{}
	for _, d := range ds {
		info := d.Fingerprint(ctx)
		if info == nil {
			info = &structs.DriverInfo{HealthDescription: "driver returned no fingerprint"}
		}
		info = copyInfo(info)
		infos[d.Name()] = info
		if !info.Detected || !info.Healthy {
			continue
		}
		attrs["driver."+d.Name()] = "1"
		maps.Copy(attrs, info.Attributes)
	}
	return infos, attrs
}

// DriversChanged reports whether detection or health differs between two
// fingerprints (attributes and timestamps aside).
func DriversChanged(old, cur map[string]*structs.DriverInfo) bool {
	if len(old) != len(cur) {
		return true
	}
	for name, o := range old {
		c, ok := cur[name]
		if !ok || o.Detected != c.Detected || o.Healthy != c.Healthy || o.HealthDescription != c.HealthDescription {
			return true
		}
	}
	return false
}

func copyInfo(in *structs.DriverInfo) *structs.DriverInfo {
	c := *in
	c.Attributes = maps.Clone(in.Attributes)
	return &c
}
