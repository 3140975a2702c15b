package ingress

import (
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Routes returns the live routing table: each route with its instances,
// their state and their request counts (HTTP routes by match order, then
// TCP routes by port).
func (g *Ingress) Routes() *structs.IngressRoutes {
	out := &structs.IngressRoutes{Enabled: true, HTTPAddr: g.HTTPAddr(), Balance: g.cfg.Balance,
		Routes: []*structs.IngressRouteStatus{}}
	for _, r := range g.table.Load().all() {
		rs := &structs.IngressRouteStatus{Route: r.key, IngressRoute: r.IngressRoute}
		if g.acme != nil && r.TCPPort == 0 && g.acme.isRefused(r.Host) {
			rs.ACME = structs.IngressACMENotAllowed
		}
		add := func(m member, state string) {
			rs.Instances = append(rs.Instances, &structs.IngressInstanceStatus{AllocID: m.allocID, JobID: m.jobID,
				Namespace: m.namespace, ServiceName: m.service, NodeID: m.nodeID, Address: m.t.addr,
				State: state, Requests: m.t.served.Load(), InFlight: m.t.active.Load()})
		}
		for _, m := range r.members {
			state := structs.IngressHealthy
			if m.failing {
				state = structs.IngressFailing
			}
			add(m, state)
		}
		for _, m := range r.draining {
			if m.t.active.Load() > 0 {
				add(m, structs.IngressDraining)
			}
		}
		out.Routes = append(out.Routes, rs)
	}
	return out.Filter(func(string) bool { return true }) // fills Services
}
