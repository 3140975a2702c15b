package network

import (
	"fmt"
	"os"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// resolvConf renders an allocation's resolv.conf. Without servers it names
// none: an allocation never gets the host's upstream resolvers.
func resolvConf(dns *structs.DNSConfig) []byte {
	var b strings.Builder
	b.WriteString("# Written by nomadlike for this allocation (the group network's dns block).\n")
	if dns == nil || len(dns.Servers) == 0 {
		b.WriteString("# No dns servers were given: set network { dns { servers = [...] } } to resolve names.\n")
	}
	if dns != nil {
		for _, s := range dns.Servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
		if len(dns.Searches) > 0 {
			fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
		}
		if len(dns.Options) > 0 {
			fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
		}
	}
	return []byte(b.String())
}

// hostsFile renders an allocation's /etc/hosts: localhost and the
// allocation's address under its hostname.
func hostsFile(addr, hostname string) []byte {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if addr != "" && hostname != "" {
		fmt.Fprintf(&b, "%s\t%s\n", addr, hostname)
	}
	return []byte(b.String())
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
