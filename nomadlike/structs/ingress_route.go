package structs

import (
	"fmt"
	"strconv"
	"strings"
)

// IngressTagPrefix starts a route tag, as in Fabio.
const IngressTagPrefix = "urlprefix-"

// IngressRoute is one parsed ingress route tag (Fabio's convention).
type IngressRoute struct {
	// Host ("" any) and Path (prefix, "/" at least) of an HTTP route.
	Host, Path string
	// Strip is removed from the start of the path before forwarding.
	Strip string
	// TCPPort is the listen port of a TCP route (proto=tcp), else 0.
	TCPPort int
}

// Key names the route in metrics and logs: host+path, or ":port".
func (r IngressRoute) Key() string {
	if r.TCPPort > 0 {
		return ":" + strconv.Itoa(r.TCPPort)
	}
	return r.Host + r.Path
}

// supported are the Fabio route options this ingress implements.
var ingressOptions = map[string]bool{"strip": true, "proto": true}

// ParseIngressTag parses one service tag. ok is false for tags that are not
// routes; unsupported lists Fabio options ignored by name; err says what
// is wrong with a malformed route tag.
func ParseIngressTag(tag string) (r IngressRoute, ok bool, unsupported []string, err error) {
	if !strings.HasPrefix(tag, IngressTagPrefix) {
		return IngressRoute{}, false, nil, nil
	}
	fields := strings.Fields(strings.TrimPrefix(tag, IngressTagPrefix))
	if len(fields) == 0 {
		return IngressRoute{}, true, nil, fmt.Errorf("route tag %q has no host or path: write %s/path, %shost.example/path or %s:port proto=tcp", tag, IngressTagPrefix, IngressTagPrefix, IngressTagPrefix)
	}
	proto := "http"
	for _, opt := range fields[1:] {
		k, v, _ := strings.Cut(opt, "=")
		switch {
		case !ingressOptions[k]:
			unsupported = append(unsupported, k)
		case k == "strip":
			r.Strip = v
		case k == "proto":
			if v != "http" && v != "tcp" {
				return IngressRoute{}, true, nil, fmt.Errorf("route tag %q: proto=%s is not supported; use proto=tcp or leave it out for HTTP", tag, v)
			}
			proto = v
		}
	}
	spec := fields[0]
	if proto == "tcp" {
		p, perr := strconv.Atoi(strings.TrimPrefix(spec, ":"))
		if !strings.HasPrefix(spec, ":") || perr != nil || p < 1 || p > 65535 {
			return IngressRoute{}, true, nil, fmt.Errorf("route tag %q: a proto=tcp route is %s:<listen port 1-65535>, got %q", tag, IngressTagPrefix, spec)
		}
		r.TCPPort = p
		return r, true, unsupported, nil
	}
	host, path := spec, "/"
	if i := strings.IndexByte(spec, '/'); i >= 0 {
		host, path = spec[:i], spec[i:]
	}
	if strings.HasPrefix(host, ":") {
		return IngressRoute{}, true, nil, fmt.Errorf("route tag %q: a listen port needs proto=tcp (%s%s proto=tcp)", tag, IngressTagPrefix, spec)
	}
	r.Host, r.Path = strings.ToLower(host), path
	return r, true, unsupported, nil
}

// IngressTagWarnings returns warnings for the route tags of a service: malformed
// routes and Fabio options this ingress ignores, by name.
func IngressTagWarnings(tags []string) []string {
	var out []string
	for _, t := range tags {
		_, ok, unsupported, err := ParseIngressTag(t)
		switch {
		case !ok:
		case err != nil:
			out = append(out, err.Error()+"; the ingress ignores it")
		case len(unsupported) > 0:
			out = append(out, fmt.Sprintf("route tag %q: option(s) %s not supported by the nomadlike ingress and ignored (supported: strip=, proto=tcp)", t, strings.Join(unsupported, ", ")))
		}
	}
	return out
}
