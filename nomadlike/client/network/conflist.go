package network

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/libcni"
)

// cniVersion is the CNI spec version of the bridge network list.
const cniVersion = "1.0.0"

// bridgeConfList is the CNI network list of bridge mode, as Nomad's
// (loopback, bridge with host-local IPAM, firewall, portmap) but with IP
// masquerade off unless cfg.Masquerade: the egress guard (egress.go) keeps
// the subnet on the host.
func bridgeConfList(cfg Config) (*libcni.NetworkConfigList, error) {
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
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}, "snat": true},
		},
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(b)
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
