package ingress

import (
	"net"
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
	key     string
	targets []*target
	next    uint64 // round-robin cursor (atomic)
}

// build groups healthy registrations by route. targets reuses instances
// across rebuilds so connection counts survive a catalog change.
func build(regs []*structs.ServiceRegistration, targets func(addr string) *target) *table {
	byKey := map[string]*route{}
	t := &table{tcp: map[int]*route{}}
	for _, reg := range regs {
		if reg.Failing || reg.Port == 0 { // a check of it fails
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
			tg := targets(addr)
			dup := false
			for _, x := range rt.targets {
				dup = dup || x == tg
			}
			if !dup {
				rt.targets = append(rt.targets, tg)
			}
		}
	}
	for _, rt := range byKey {
		sort.Slice(rt.targets, func(i, j int) bool { return rt.targets[i].addr < rt.targets[j].addr })
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

// match returns the route of a request: the longest path prefix among the
// routes for the request's host, else among the routes for any host.
func (t *table) match(host, path string) *route {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	for _, any := range []bool{false, true} {
		for _, r := range t.http {
			if (r.Host == "") == any && (any || r.Host == host) && strings.HasPrefix(path, r.Path) {
				return r
			}
		}
	}
	return nil
}
