package network

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// EgressChain is the mangle-table chain of the egress guard.
const EgressChain = "NOMADLIKE-EGRESS"

// egressRule is the guard's rule for a subnet: new connections from the
// subnet to an address that is neither the host's nor in the subnet are
// dropped before routing (replies of connections made to the allocation's
// mapped ports pass: they are established).
func egressRule(subnet, bridge string) []string {
	return []string{
		"-s", subnet, "!", "-d", subnet,
		"-m", "addrtype", "!", "--dst-type", "LOCAL",
		"-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED",
		"-m", "comment", "--comment", "nomadlike egress guard " + bridge,
		"-j", "DROP",
	}
}

// iptables runs iptables (waiting for the xtables lock) and returns its
// output; the error quotes what iptables said.
func iptables(args ...string) (string, error) {
	cmd := exec.Command("iptables", append([]string{"-w", "5"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// ensureEgressGuard installs the guard for subnet: the chain, its rule for
// the subnet, and the jump as the first rule of PREROUTING (before any
// rule a CNI plugin adds). Idempotent.
func ensureEgressGuard(subnet, bridge string) error {
	if _, err := iptables("-t", "mangle", "-S", EgressChain); err != nil {
		if _, err := iptables("-t", "mangle", "-N", EgressChain); err != nil {
			return fmt.Errorf("egress guard: %w", err)
		}
	}
	rule := egressRule(subnet, bridge)
	if _, err := iptables(append([]string{"-t", "mangle", "-C", EgressChain}, rule...)...); err != nil {
		if _, err := iptables(append([]string{"-t", "mangle", "-A", EgressChain}, rule...)...); err != nil {
			return fmt.Errorf("egress guard: %w", err)
		}
	}
	out, err := iptables("-t", "mangle", "-S", "PREROUTING")
	if err != nil {
		return fmt.Errorf("egress guard: %w", err)
	}
	jump := "-A PREROUTING -j " + EgressChain
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// lines[0] is the policy ("-P PREROUTING ACCEPT"); the jump must be next.
	if len(lines) > 1 && lines[1] == jump {
		return nil
	}
	if strings.Contains(out, jump+"\n") || strings.HasSuffix(out, jump) {
		if _, err := iptables("-t", "mangle", "-D", "PREROUTING", "-j", EgressChain); err != nil {
			return fmt.Errorf("egress guard: %w", err)
		}
	}
	if _, err := iptables("-t", "mangle", "-I", "PREROUTING", "1", "-j", EgressChain); err != nil {
		return fmt.Errorf("egress guard: %w", err)
	}
	return nil
}

// removeEgressRule removes the guard's rule for subnet, if there is one.
// The chain and its jump stay (the client leaves the guard in place, as it
// leaves the bridge): removing the jump while another subnet's rule is
// in the chain would unhook that subnet's guard.
func removeEgressRule(subnet, bridge string) error {
	if _, err := iptables(append([]string{"-t", "mangle", "-C", EgressChain}, egressRule(subnet, bridge)...)...); err != nil {
		return nil
	}
	_, err := iptables(append([]string{"-t", "mangle", "-D", EgressChain}, egressRule(subnet, bridge)...)...)
	return err
}
