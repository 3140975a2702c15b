// Package network gives an allocation its own network namespace (group
// network mode "bridge" or "cni/<name>") and attaches it with the standard
// CNI plugins through libcni: loopback, bridge with host-local IPAM,
// firewall and portmap for "bridge"; the user's network list from
// cni_config_dir for "cni/<name>".
//
// Safety: the bridge is configured without IP masquerade, and an egress
// guard (an iptables rule in the mangle table's NOMADLIKE-EGRESS chain,
// jumped to first from PREROUTING) drops new connections from the bridge
// subnet to anything but the host's own addresses and the subnet itself.
// Allocations in bridge mode reach the host and each other, never beyond the
// host; replies to connections made to their mapped ports pass. An operator
// who wants outbound traffic sets Config.Masquerade
// (bridge_network_masquerade): the bridge plugin then masquerades the
// subnet and the guard has no rule for it.
//
// Every allocation's attachment is recorded in a file under the manager's
// state dir (the CNI network list used, the port mappings, the status), so a
// restarted client re-attaches to a running allocation's network (Setup
// returns the recorded one) and tears down the networks of allocations that
// are gone (Sweep) with the same config that created them.
//
// Speed: bridge mode's firewall and portmap plugins run after Setup
// returns, while the task starts (Result.Wait); a warm pool (pool.go,
// Config.PoolSize) keeps namespaces already attached up to portmap, which
// is not run at all for an allocation that maps no port (needed); the
// portmap plugin uses its nftables backend when the binary supports it
// safely (portmapBackend); the plugins run with a glibc malloc tuning that
// spares the nft commands they run most of their unmapping (exec.go).
package network
