package ingress

import (
	"net"
	"net/http/httputil"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// table is the routing state built from the catalog.
type table struct {
	// http routes, by descending path length, host routes first on ties.
	http []*route
	// tcp routes by listen port.
	tcp map[int]*route
}

// route is a route with its instances.
type route struct {
	structs.IngressRoute
	key string
	// targets are the healthy instances, the only ones picked.
	targets []*target
	next    uint64 // round-robin cursor (atomic)
	// members are every registered instance of the route, healthy or
	// failing (for the route table's readers; never changed after build).
	members []member
	// draining are instances that left the route (deregistered before
	// their allocation stops) with requests still open when it was built.
	draining []member
	// proxy forwards the route's HTTP requests; m are its instruments.
	proxy *httputil.ReverseProxy
	m     *routeMetrics
}

// member is one registration behind a route.
type member struct {
	allocID, jobID, namespace, service, nodeID string
	failing                                    bool
	t                                          *target
}

// build groups registrations by route: healthy ones are picked, failing
// ones only listed. targets returns the instance of a route at an address,
// the same across rebuilds so its counts survive a catalog change.
func build(regs []*structs.ServiceRegistration, targets func(route, addr string) *target) *table {
	byKey := map[string]*route{}
	t := &table{tcp: map[int]*route{}}
	for _, reg := range regs {
		if reg.Port == 0 {
			continue
		}
		addr := net.JoinHostPort(reg.Address, strconv.Itoa(reg.Port))
		for _, tag := range reg.Tags {
			r, ok, _, err := structs.ParseIngressTag(tag)
			if !ok || err != nil {
				continue
			}
			k := r.Key()
			rt := byKey[k]
			if rt == nil {
				rt = &route{IngressRoute: r, key: k}
				byKey[k] = rt
				if r.TCPPort > 0 {
					t.tcp[r.TCPPort] = rt
				} else {
					t.http = append(t.http, rt)
				}
			}
			tg := targets(k, addr)
			rt.members = append(rt.members, member{allocID: reg.AllocID, jobID: reg.JobID, namespace: reg.Namespace,
				service: reg.ServiceName, nodeID: reg.NodeID, failing: reg.Failing, t: tg})
			if !reg.Failing && !slices.Contains(rt.targets, tg) { // a check of a failing one fails
				rt.targets = append(rt.targets, tg)
			}
		}
	}
	for _, rt := range byKey {
		sort.Slice(rt.targets, func(i, j int) bool { return rt.targets[i].addr < rt.targets[j].addr })
		sort.SliceStable(rt.members, func(i, j int) bool { return rt.members[i].t.addr < rt.members[j].t.addr })
	}
	sort.SliceStable(t.http, func(i, j int) bool {
		a, b := t.http[i], t.http[j]
		if len(a.Path) != len(b.Path) {
			return len(a.Path) > len(b.Path)
		}
		if (a.Host != "") != (b.Host != "") {
			return a.Host != ""
		}
		return a.key < b.key
	})
	return t
}

// carryDraining keeps, in each route of t, the instances its predecessor
// in old had (as members or draining) that are gone from it but still
// serve open requests: they finish them, and the route table shows them.
func (t *table) carryDraining(old *table) {
	cur := make(map[string]*route, len(t.http)+len(t.tcp))
	for _, r := range t.all() {
		cur[r.key] = r
	}
	for _, o := range old.all() {
		r := cur[o.key]
		if r == nil {
			continue
		}
		for _, ms := range [][]member{o.members, o.draining} {
			for _, m := range ms {
				if m.t.active.Load() > 0 && !r.hasMember(m.t) {
					r.draining = append(r.draining, m)
				}
			}
		}
	}
}

// hasMember reports whether t is a member or draining instance of r.
func (r *route) hasMember(t *target) bool {
	for _, ms := range [][]member{r.members, r.draining} {
		for _, m := range ms {
			if m.t == t {
				return true
			}
		}
	}
	return false
}

// all returns the HTTP routes then the TCP routes by port.
func (t *table) all() []*route {
	out := append([]*route(nil), t.http...)
	ports := make([]int, 0, len(t.tcp))
	for p := range t.tcp {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	for _, p := range ports {
		out = append(out, t.tcp[p])
	}
	return out
}

// match returns the route of a request: the longest path prefix among the
// routes for the request's host, else among the routes for any host.
func (t *table) match(host, path string) *route {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, r := range t.http {
		if r.Host != "" && strings.HasPrefix(path, r.Path) && strings.EqualFold(r.Host, host) {
			return r
		}
	}
	for _, r := range t.http {
		if r.Host == "" && strings.HasPrefix(path, r.Path) {
			return r
		}
	}
	return nil
}
