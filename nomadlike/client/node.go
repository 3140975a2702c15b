package client

import (
	"context"
	"os"

	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fingerprint probes the host and builds the node to register.
func (c *Client) fingerprint(ctx context.Context) (*structs.Node, error) {
	res, err := fingerprint.Run(ctx, fingerprint.Input{
		Root: c.cfg.fingerprintRoot, DataDir: c.cfg.DataDir, HTTPAddr: c.cfg.HTTPAddr,
		Version: Version, Drivers: c.cfg.Drivers,
	})
	if err != nil {
		// Partial results are still useful; say what is missing.
		c.cfg.Logger.Warn("some fingerprints failed; the node registers without them", "error", err)
	}
	if res.Attributes == nil {
		res.Attributes = map[string]string{}
	}
	for k, v := range c.networks.Attributes() {
		res.Attributes[k] = v
	}
	name := c.cfg.NodeName
	if name == "" {
		name, _ = os.Hostname()
	}
	if name == "" {
		name = c.id.NodeID
	}
	r := res.Resources
	if len(c.cfg.HostNetworks) > 0 {
		ifaces, err := fingerprint.LocalIfaces()
		if err != nil {
			c.cfg.Logger.Warn("cannot list the host's interfaces: the node registers without its host networks", "error", err)
		}
		var missing []string
		r.NodeNetworks, missing = fingerprint.HostNetworks(c.cfg.HostNetworks, ifaces)
		for _, name := range missing {
			// As Nomad: the node lacks it, and ports asking for it go elsewhere.
			c.cfg.Logger.Warn("host_network has no address on this host; ports asking for it are not placed here", "host_network", name,
				"cidr", c.cfg.HostNetworks[name].CIDR, "interface", c.cfg.HostNetworks[name].Interface)
		}
	}
	n := &structs.Node{
		ID: c.id.NodeID, SecretID: c.id.SecretID, Name: name, Datacenter: c.cfg.Datacenter,
		HTTPAddr: c.cfg.HTTPAddr, NodeClass: c.cfg.NodeClass, NodePool: c.cfg.NodePool,
		// The agent's API is served over TLS when it dials servers over TLS
		// (tls.http): tools reaching the node directly need https.
		TLSEnabled: c.cfg.TLS != nil,
		Attributes: res.Attributes, Meta: structs.MergeNodeMeta(c.staticMeta(), c.dynMeta), Drivers: res.Drivers,
		NodeResources: &r,
		ReservedResources: &structs.NodeReservedResources{
			Cpu:    structs.NodeReservedCpuResources{CpuShares: uint64(c.cfg.ReservedCPU)},
			Memory: structs.NodeReservedMemoryResources{MemoryMB: uint64(c.cfg.ReservedMemoryMB)},
		},
		HostVolumes:           structs.CopyHostVolumes(c.cfg.HostVolumes),
		HostNetworks:          structs.CopyHostNetworks(c.cfg.HostNetworks),
		SchedulingEligibility: structs.NodeSchedulingEligible,
		Status:                structs.NodeStatusInit,
	}
	return n, nil
}
