package structs

// AgentMember is an agent in the servers' serf pool, as /v1/agent/members
// and /v1/agent/self report it (Nomad's api.AgentMember).
type AgentMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      string
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// ServerMembers is the reply of GET /v1/agent/members (Nomad's api.ServerMembers).
type ServerMembers struct {
	ServerName   string
	ServerRegion string
	ServerDC     string
	Members      []*AgentMember
}

// RaftServer is one server of the Raft configuration.
type RaftServer struct {
	ID           string
	Node         string
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfiguration is the reply of GET /v1/operator/raft/configuration.
type RaftConfiguration struct {
	Index   uint64
	Servers []*RaftServer
}
