package fingerprint

import (
	"context"
	"errors"
	"maps"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Input says where to look.
type Input struct {
	// Root is the file system root holding proc/, sys/ and etc/ ("/" in production).
	Root string
	// DataDir is the directory whose file system is reported as the node's disk.
	DataDir string
	// HTTPAddr is the agent's advertised HTTP address.
	HTTPAddr string
	// Version is reported as nomad.version.
	Version string
	Drivers []drivers.Driver
}

// Result is everything the probes found.
type Result struct {
	Attributes map[string]string
	Resources  structs.NodeResources
	Drivers    map[string]*structs.DriverInfo
}

// Run runs every probe. A failing probe does not stop the others: Run returns
// what it found and the probes' errors joined, so the caller can log them.
// CPU and memory failures leave the matching resources at zero.
func Run(ctx context.Context, in Input) (*Result, error) {
	r := &Result{Attributes: map[string]string{"nomad.version": in.Version}}
	r.Resources.MinDynamicPort = structs.MinDynamicPort
	r.Resources.MaxDynamicPort = structs.MaxDynamicPort
	var errs []error
	add := func(a map[string]string, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		maps.Copy(r.Attributes, a)
	}
	attrs, cpu, err := CPU(in.Root)
	add(attrs, err)
	r.Resources.Cpu = cpu
	attrs, mem, err := Memory(in.Root)
	add(attrs, err)
	r.Resources.Memory = mem
	attrs, disk, err := Disk(in.DataDir)
	add(attrs, err)
	r.Resources.Disk = disk
	add(Kernel(in.Root))
	add(OS(in.Root))
	add(Hostname())
	add(Network(in.HTTPAddr))
	infos, dattrs := Drivers(ctx, in.Drivers)
	r.Drivers = infos
	maps.Copy(r.Attributes, dattrs)
	return r, errors.Join(errs...)
}
