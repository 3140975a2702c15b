package client

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// IngressRoutes returns the live routing table of the node's ingress
// (Enabled false and no routes when it runs none).
func (c *Client) IngressRoutes() *structs.IngressRoutes {
	if c.ingress == nil {
		return &structs.IngressRoutes{NodeID: c.id.NodeID, Routes: []*structs.IngressRouteStatus{}}
	}
	rt := c.ingress.Routes()
	rt.NodeID = c.id.NodeID
	return rt
}
