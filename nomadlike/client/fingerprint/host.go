package fingerprint

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Kernel reads the kernel release from root/proc/sys/kernel/osrelease; the
// architecture comes from uname(2) on this host.
func Kernel(root string) (map[string]string, error) {
	path := filepath.Join(root, "proc/sys/kernel/osrelease")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kernel fingerprint: %w", err)
	}
	attrs := map[string]string{"kernel.name": "linux", "kernel.version": strings.TrimSpace(string(b))}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		attrs["kernel.arch"] = unix.ByteSliceToString(u.Machine[:])
	}
	return attrs, nil
}

// OS reads os.name and os.version (ID and VERSION_ID) from root/etc/os-release.
func OS(root string) (map[string]string, error) {
	path := filepath.Join(root, "etc/os-release")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("os fingerprint: %w", err)
	}
	attrs := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch k {
		case "ID":
			attrs["os.name"] = v
		case "VERSION_ID":
			attrs["os.version"] = v
		}
	}
	if attrs["os.name"] == "" {
		return nil, fmt.Errorf("os fingerprint: no ID= line in %s", path)
	}
	return attrs, nil
}

// Hostname returns unique.hostname.
func Hostname() (map[string]string, error) {
	h, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("hostname fingerprint: %w", err)
	}
	return map[string]string{"unique.hostname": h}, nil
}

// Network returns unique.network.ip-address: the host part of the agent's
// advertised HTTP address, or, when that is empty or unspecified (0.0.0.0),
// the first non-loopback IPv4 address of this host (127.0.0.1 if none).
func Network(httpAddr string) (map[string]string, error) {
	host := httpAddr
	if h, _, err := net.SplitHostPort(httpAddr); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if host != "" && ip == nil {
		addrs, err := net.LookupIP(host)
		if err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("network fingerprint: resolve advertised address %q: %v", httpAddr, err)
		}
		ip = addrs[0]
	}
	if ip == nil || ip.IsUnspecified() {
		ip = firstHostIP()
	}
	return map[string]string{"unique.network.ip-address": ip.String()}, nil
}

func firstHostIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP
			}
		}
	}
	return net.IPv4(127, 0, 0, 1)
}
