package network

import (
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/containernetworking/cni/libcni"
	"golang.org/x/mod/semver"
)

// cniVersion is the CNI spec version of the bridge network list.
const cniVersion = "1.0.0"

// bridgeConfList is the CNI network list of bridge mode, as Nomad's
// (loopback, bridge with host-local IPAM, firewall, portmap) but with IP
// masquerade off unless cfg.Masquerade: the egress guard (egress.go) keeps
// the subnet on the host. The portmap plugin uses backend (see
// portmapBackend).
func bridgeConfList(cfg Config, backend string) (*libcni.NetworkConfigList, error) {
	list := map[string]any{
		"cniVersion": cniVersion,
		"name":       cfg.BridgeName,
		"plugins": []any{
			map[string]any{"type": "loopback"},
			map[string]any{
				"type": "bridge", "bridge": cfg.BridgeName,
				"ipMasq": cfg.Masquerade, "isGateway": true, "forceAddress": true, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": cfg.BridgeSubnet}}},
					"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
					"dataDir": cfg.ipamDir(),
				},
			},
			map[string]any{"type": "firewall", "backend": "iptables", "iptablesAdminChainName": "NOMADLIKE-ADMIN"},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true, "backend": backend},
		},
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(b)
}

// Backends of the portmap plugin.
const (
	backendIPTables = "iptables"
	backendNFTables = "nftables"
)

// minNFTablesPortmap is the first release of the CNI plugins whose portmap
// nftables backend is taken: earlier ones could intercept traffic not
// addressed to the host (fixed in v1.9.0).
const minNFTablesPortmap = "v1.9.0"

// portmapBackend chooses the portmap plugin's backend from the binary
// found first in cniPath: "nftables" (one nft transaction per allocation
// instead of about 30 iptables execs) when its Go build info says it is
// github.com/containernetworking/plugins minNFTablesPortmap or later and
// the nft command is installed, else "iptables" (any other build, such as
// Debian's 1.1.1, whose version is not recorded). Each allocation's record
// keeps the network list it was set up with, so a teardown uses the same
// backend whatever the plugin is by then.
func portmapBackend(cniPath string) string {
	for _, dir := range filepath.SplitList(cniPath) {
		p := filepath.Join(dir, "portmap")
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		info, err := buildinfo.ReadFile(p)
		if err != nil || info.Main.Path != "github.com/containernetworking/plugins" ||
			!semver.IsValid(info.Main.Version) || semver.Compare(info.Main.Version, minNFTablesPortmap) < 0 {
			return backendIPTables
		}
		if _, err := exec.LookPath("nft"); err != nil {
			return backendIPTables
		}
		return backendNFTables
	}
	return backendIPTables
}

// bridgeRest is the index in bridge mode's plugins of the first that runs
// after Setup returns (firewall, portmap: iptables rules for the address
// the bridge plugin gave; see Manager.finish).
const bridgeRest = 2

// userConfList loads the network list "name" from the CNI config dir (a
// .conflist, or a single-plugin .conf/.json, whose "name" is name).
func userConfList(dir, name string) (*libcni.NetworkConfigList, error) {
	list, err := libcni.LoadNetworkConf(dir, name)
	if err == nil {
		return list, nil
	}
	var nf libcni.NotFoundError
	var none libcni.NoConfigsFoundError
	if errors.As(err, &nf) || errors.As(err, &none) {
		return nil, fmt.Errorf("network mode \"cni/%s\": no CNI network named %q in %s (the client's cni_config_dir): add a .conflist file with \"name\": %q there, or fix the mode's name", name, name, dir, name)
	}
	return nil, fmt.Errorf("network mode \"cni/%s\": load the CNI network list from %s: %w", name, dir, err)
}
