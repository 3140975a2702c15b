package server

import (
	"strings"

	"github.com/hashicorp/serf/serf"
)

// ServerHTTPAddrByName finds the server a request names (a monitor's
// ?server_id=): "leader", a member name as `server members` lists it
// ("<node>.<region>"), a node name or a Raft server ID. It returns the
// server's HTTP address, whether that server is this one, and false when no
// alive server of this region has the name.
func (s *Server) ServerHTTPAddrByName(name string) (addr string, self, ok bool) {
	if name == "leader" {
		addr = s.LeaderHTTPAddr()
		return addr, addr != "" && addr == s.cfg.HTTPAddr, addr != ""
	}
	if name == s.cfg.NodeName || name == s.cfg.NodeName+"."+s.cfg.Region || name == s.raftID {
		return s.cfg.HTTPAddr, true, true
	}
	for _, m := range s.servers() {
		node := strings.TrimSuffix(m.name, "."+m.region)
		if m.status != serf.StatusAlive || m.httpAddr == "" || (name != m.name && name != node && name != m.id) {
			continue
		}
		return m.httpAddr, m.httpAddr == s.cfg.HTTPAddr, true
	}
	return "", false, false
}
