package dns

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func serve(t testing.TB, regs []*structs.ServiceRegistration) (*Server, string) {
	t.Helper()
	s := New(nil)
	s.Set(regs)
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s, s.Addr()
}

func ask(t testing.TB, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return r
}

func TestServiceNames(t *testing.T) {
	regs := []*structs.ServiceRegistration{
		{ID: "1", ServiceName: "web", Namespace: "default", Address: "172.26.64.2", Port: 80, Tags: []string{"blue"}},
		{ID: "2", ServiceName: "web", Namespace: "default", Address: "172.26.64.3", Port: 8080},
		{ID: "3", ServiceName: "Web", Namespace: "prod", Address: "10.0.0.9", Port: 443},
		{ID: "4", ServiceName: "v6", Namespace: "default", Address: "fd00::1", Port: 1},
		{ID: "5", ServiceName: "web", Namespace: "default", Address: "172.26.64.9", Port: 80, Failing: true},
	}
	_, addr := serve(t, regs)
	addrs := func(r *dns.Msg) []string {
		var out []string
		for _, rr := range r.Answer {
			switch v := rr.(type) {
			case *dns.A:
				out = append(out, v.A.String())
			case *dns.AAAA:
				out = append(out, v.AAAA.String())
			case *dns.SRV:
				out = append(out, fmt.Sprintf("%s:%d", v.Target, v.Port))
			}
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []struct {
		name  string
		qtype uint16
		want  string
	}{
		{"web.service.nomad.", dns.TypeA, "[172.26.64.2 172.26.64.3]"},
		{"WEB.Service.NOMAD.", dns.TypeA, "[172.26.64.2 172.26.64.3]"},
		{"blue.web.service.nomad.", dns.TypeA, "[172.26.64.2]"},
		{"web.service.nomad.", dns.TypeSRV, "[172-26-64-2.addr.nomad.:80 172-26-64-3.addr.nomad.:8080]"},
		{"web.service.prod.nomad.", dns.TypeA, "[10.0.0.9]"},
		{"v6.service.nomad.", dns.TypeAAAA, "[fd00::1]"},
		{"172-26-64-3.addr.nomad.", dns.TypeA, "[172.26.64.3]"},
	} {
		r := ask(t, addr, c.name, c.qtype)
		if got := fmt.Sprint(addrs(r)); got != c.want || r.Rcode != dns.RcodeSuccess {
			t.Errorf("%s %s: %s (rcode %d), want %s", c.name, dns.TypeToString[c.qtype], got, r.Rcode, c.want)
		}
	}
	r := ask(t, addr, "web.service.nomad.", dns.TypeSRV)
	if len(r.Extra) != 2 || r.Truncated {
		t.Errorf("SRV answer carries %d additional A records, want 2", len(r.Extra))
	}
	for _, name := range []string{"nope.service.nomad.", "red.web.service.nomad.", "web.service.other.nomad.", "a.b.c.service.nomad.", "x.nomad."} {
		if r := ask(t, addr, name, dns.TypeA); r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: rcode %d, want NXDOMAIN", name, r.Rcode)
		}
	}
}

// BenchmarkQuery measures A and SRV lookups against an index of 1,000
// registrations (100 services of 10 instances) over UDP on loopback, and
// reports the 99th percentile latency.
func BenchmarkQuery(b *testing.B) {
	var regs []*structs.ServiceRegistration
	for i := range 1000 {
		regs = append(regs, &structs.ServiceRegistration{ID: fmt.Sprint(i), ServiceName: fmt.Sprintf("svc%d", i/10), Namespace: "default",
			Address: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), Port: 20000 + i})
	}
	_, addr := serve(b, regs)
	c := &dns.Client{Timeout: 2 * time.Second}
	conn, err := c.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		m := new(dns.Msg)
		qt := dns.TypeA
		if i%2 == 1 {
			qt = dns.TypeSRV
		}
		m.SetQuestion(fmt.Sprintf("svc%d.service.nomad.", i%100), qt)
		m.SetEdns0(4096, false)
		start := time.Now()
		r, _, err := c.ExchangeWithConn(m, conn)
		lat = append(lat, time.Since(start))
		if err != nil || len(r.Answer) != 10 {
			b.Fatalf("query %d: %v", i, err)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// TestDNSNameServed checks that the name the CLI shows for a service
// (structs.ServiceDNSName) is the one the server answers.
func TestDNSNameServed(t *testing.T) {
	regs := []*structs.ServiceRegistration{
		{ID: "1", ServiceName: "Api", Namespace: "default", Address: "10.0.0.1", Port: 1},
		{ID: "2", ServiceName: "api", Namespace: "team-a", Address: "10.0.0.2", Port: 2},
	}
	_, addr := serve(t, regs)
	for _, r := range regs {
		ans := ask(t, addr, structs.ServiceDNSName(r.Namespace, r.ServiceName)+".", dns.TypeA).Answer
		if len(ans) != 1 || ans[0].(*dns.A).A.String() != r.Address {
			t.Errorf("%s: %v, want %s", structs.ServiceDNSName(r.Namespace, r.ServiceName), ans, r.Address)
		}
	}
}
