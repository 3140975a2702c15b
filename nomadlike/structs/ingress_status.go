package structs

import "slices"

// IngressRoutes is a client's live ingress routing table
// (GET /v1/client/ingress/routes).
type IngressRoutes struct {
	// NodeID is the client's node.
	NodeID string
	// Enabled is false when the client runs no ingress (Routes is empty).
	Enabled bool
	// HTTPAddr is the ingress's HTTP listen address; Balance its strategy.
	HTTPAddr string
	Balance  string
	Routes   []*IngressRouteStatus
}

// IngressRouteStatus is one route and the instances behind it.
type IngressRouteStatus struct {
	// Route is the route's key: host+path, or ":port" for TCP.
	Route string
	IngressRoute
	// Services are the names of the services tagged with the route.
	Services  []string
	Instances []*IngressInstanceStatus
	// ACME is why the route's host gets no ACME certificate
	// (IngressACMENotAllowed; "" when it does or ACME is off).
	ACME string `json:",omitempty"`
}

// IngressACMENotAllowed is a route's host outside the ingress's
// client.ingress.acme.domains: no certificate is ordered for it.
const IngressACMENotAllowed = "host not in client.ingress.acme.domains"

// States of an instance behind an ingress route.
const (
	// IngressHealthy: the instance gets new requests.
	IngressHealthy = "healthy"
	// IngressFailing: a check of it fails; it gets no new requests.
	IngressFailing = "failing"
	// IngressDraining: it was deregistered (its allocation is stopping)
	// and finishes the requests it has; it gets no new ones.
	IngressDraining = "draining"
)

// IngressInstanceStatus is one instance behind a route, as this client's
// ingress sees it.
type IngressInstanceStatus struct {
	AllocID     string
	JobID       string
	Namespace   string
	ServiceName string
	NodeID      string
	// Address is the instance's address:port.
	Address string
	// State is IngressHealthy, IngressFailing or IngressDraining.
	State string
	// Requests is how many requests (TCP: connections) this client's
	// ingress sent to the address since it started; InFlight how many
	// are open now.
	Requests uint64
	InFlight int64
}

// Filter returns a copy of r with only the instances whose namespace
// visible accepts, and only the routes left with an instance.
func (r *IngressRoutes) Filter(visible func(namespace string) bool) *IngressRoutes {
	out := *r
	out.Routes = []*IngressRouteStatus{}
	for _, rs := range r.Routes {
		c := *rs
		c.Instances, c.Services = nil, []string{}
		for _, in := range rs.Instances {
			if !visible(in.Namespace) {
				continue
			}
			c.Instances = append(c.Instances, in)
			if !slices.Contains(c.Services, in.ServiceName) {
				c.Services = append(c.Services, in.ServiceName)
			}
		}
		if len(c.Instances) > 0 {
			slices.Sort(c.Services)
			out.Routes = append(out.Routes, &c)
		}
	}
	return &out
}
