// Package dns serves the Nomad service catalog over DNS on a client agent
// (beyond Nomad: its open request #12588). Names:
//
//	<service>.service.nomad               A/AAAA and SRV, namespace "default"
//	<service>.service.<namespace>.nomad   the same in another namespace
//	<tag>.<service>.service[.<ns>].nomad  only the registrations with that tag
//	<a-b-c-d>.addr.nomad                  A (the targets of SRV answers)
//
// Answers come from an in-memory index that Set replaces from the client's
// blocking watch of the service catalog (client/catalog): a lookup never
// queries the servers. TTLs are 0, so resolvers do not cache a moved instance.
// Instances whose checks fail (the registering client sets Failing) are
// left out.
package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Domain is the zone served.
const Domain = "nomad."

// Server answers DNS queries from its index. It is safe for concurrent use.
type Server struct {
	logger *slog.Logger

	mu    sync.RWMutex
	index map[string][]*structs.ServiceRegistration // "<namespace>/<lower name>"

	lmu     sync.Mutex // guards servers
	servers []*dns.Server

	gwMu     sync.Mutex
	gateways map[string]bool // gateway addresses served
}

// New returns a server with an empty index.
func New(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{logger: logger, index: map[string][]*structs.ServiceRegistration{}}
}

// Set replaces the index with regs; registrations whose checks fail
// (Failing) are left out.
func (s *Server) Set(regs []*structs.ServiceRegistration) {
	idx := make(map[string][]*structs.ServiceRegistration, len(regs))
	for _, r := range regs {
		if r.Failing {
			continue // a check of it fails: not served
		}
		k := r.Namespace + "/" + strings.ToLower(r.ServiceName)
		idx[k] = append(idx[k], r)
	}
	s.mu.Lock()
	s.index = idx
	s.mu.Unlock()
}

// Listen serves DNS on addr (UDP and TCP) and returns once both listen.
func (s *Server) Listen(addr string) error {
	mux := dns.NewServeMux()
	mux.Handle(Domain, s)
	for _, network := range []string{"udp", "tcp"} {
		started := make(chan struct{})
		srv := &dns.Server{Addr: addr, Net: network, Handler: mux, NotifyStartedFunc: func() { close(started) }}
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServe() }()
		select {
		case <-started:
			s.lmu.Lock()
			s.servers = append(s.servers, srv)
			s.lmu.Unlock()
		case err := <-errc:
			if network == "tcp" { // the UDP server of addr runs: stop it
				s.lmu.Lock()
				last := s.servers[len(s.servers)-1]
				s.servers = s.servers[:len(s.servers)-1]
				s.lmu.Unlock()
				_ = last.Shutdown()
			}
			return fmt.Errorf("dns: listen on %s/%s: %w", addr, network, err)
		}
	}
	return nil
}

// ListenOnGateway serves DNS on port 53 of a bridge's gateway address too
// (once per address), and returns the address for the allocation's
// resolv.conf. The network manager calls it after attaching a bridge
// allocation without a dns block.
func (s *Server) ListenOnGateway(gw net.IP) (string, error) {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	addr := net.JoinHostPort(gw.String(), "53")
	if s.gateways[addr] {
		return gw.String(), nil
	}
	if err := s.Listen(addr); err != nil {
		return "", err
	}
	if s.gateways == nil {
		s.gateways = map[string]bool{}
	}
	s.gateways[addr] = true
	return gw.String(), nil
}

// Addr returns the UDP address served (after Listen).
func (s *Server) Addr() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for _, srv := range s.servers {
		if srv.PacketConn != nil {
			return srv.PacketConn.LocalAddr().String()
		}
	}
	return ""
}

// Shutdown stops serving.
func (s *Server) Shutdown() {
	s.lmu.Lock()
	servers := s.servers
	s.servers = nil
	s.lmu.Unlock()
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	for _, q := range req.Question {
		if err := s.answer(m, q); err != nil {
			m.Rcode = dns.RcodeNameError
		}
	}
	// Over UDP an answer fits the client's buffer (512 bytes, or its EDNS0
	// size): Truncate drops the extra records first, then sets TC so the
	// client asks again over TCP.
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = max(int(o.UDPSize()), dns.MinMsgSize)
			m.SetEdns0(o.UDPSize(), false)
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

var errNoName = errors.New("no such name")

// query is a parsed name.
type query struct {
	namespace, service, tag string
	addr                    net.IP
}

// parse reads a name of the zone (lower case, fully qualified).
func parse(name string) (query, error) {
	labels := dns.SplitDomainName(strings.ToLower(name))
	if len(labels) < 2 || labels[len(labels)-1] != "nomad" {
		return query{}, errNoName
	}
	labels = labels[:len(labels)-1]
	if len(labels) == 2 && labels[1] == "addr" {
		ip := net.ParseIP(strings.ReplaceAll(labels[0], "-", "."))
		if ip == nil || ip.To4() == nil {
			return query{}, errNoName
		}
		return query{addr: ip}, nil
	}
	i := -1
	for j, l := range labels {
		if l == "service" && j > 0 {
			i = j
			break
		}
	}
	q := query{namespace: structs.DefaultNamespace}
	switch {
	case i < 0 || i > 2 || len(labels)-i > 2:
		return query{}, errNoName
	case len(labels)-i == 2:
		q.namespace = labels[i+1]
	}
	q.service = labels[i-1]
	if i == 2 {
		q.tag = labels[0]
	}
	return q, nil
}

func (s *Server) answer(m *dns.Msg, q dns.Question) error {
	p, err := parse(q.Name)
	if err != nil {
		return err
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 0}
	}
	if p.addr != nil {
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: p.addr})
		}
		return nil
	}
	regs := s.lookup(p)
	if len(regs) == 0 {
		return errNoName
	}
	seen := map[string]bool{}
	for _, r := range regs {
		ip := net.ParseIP(r.Address)
		switch q.Qtype {
		case dns.TypeA, dns.TypeANY:
			if ip != nil && ip.To4() != nil {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: ip.To4()})
			}
		case dns.TypeAAAA:
			if ip != nil && ip.To4() == nil {
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip})
			}
		case dns.TypeSRV:
			if ip == nil || ip.To4() == nil {
				continue
			}
			target := strings.ReplaceAll(ip.To4().String(), ".", "-") + ".addr." + Domain
			m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: 1, Weight: 1, Port: uint16(r.Port), Target: target})
			if !seen[target] {
				seen[target] = true
				m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: target, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: ip.To4()})
			}
		}
	}
	return nil
}

// lookup returns the registrations a parsed name selects.
func (s *Server) lookup(p query) []*structs.ServiceRegistration {
	s.mu.RLock()
	regs := s.index[p.namespace+"/"+p.service]
	s.mu.RUnlock()
	if p.tag == "" {
		return regs
	}
	var out []*structs.ServiceRegistration
	for _, r := range regs {
		for _, t := range r.Tags {
			if strings.EqualFold(t, p.tag) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
