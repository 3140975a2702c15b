package ingress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// instanceOf finds the instance at addr in route key of g's table.
func instanceOf(t *testing.T, g *Ingress, key, addr string) *structs.IngressInstanceStatus {
	t.Helper()
	for _, r := range g.Routes().Routes {
		if r.Route != key {
			continue
		}
		for _, in := range r.Instances {
			if in.Address == addr {
				return in
			}
		}
	}
	return nil
}

func TestRoutesShowsInstancesStatesAndCounts(t *testing.T) {
	g := start(t, Config{})
	sa, a := backend(t, "a")
	sb, b := backend(t, "b")
	a.AllocID, a.Namespace, b.AllocID, b.Namespace = "alloc-a", "default", "alloc-b", "default"
	b.Failing = true
	g.Set([]*structs.ServiceRegistration{a, b})
	for range 3 {
		if code, _ := get(t, g, "/app/x"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	rt := g.Routes()
	if !rt.Enabled || rt.HTTPAddr != g.HTTPAddr() || rt.Balance != RoundRobin || len(rt.Routes) != 1 {
		t.Fatalf("routes: %+v", rt)
	}
	r := rt.Routes[0]
	if r.Route != "/app" || r.Path != "/app" || r.Strip != "/app" || len(r.Services) != 1 || r.Services[0] != "web" || len(r.Instances) != 2 {
		t.Fatalf("route: %+v", r)
	}
	ia := instanceOf(t, g, "/app", sa.Listener.Addr().String())
	ib := instanceOf(t, g, "/app", sb.Listener.Addr().String())
	if ia == nil || ia.State != structs.IngressHealthy || ia.Requests != 3 || ia.InFlight != 0 || ia.AllocID != "alloc-a" {
		t.Fatalf("healthy instance: %+v", ia)
	}
	if ib == nil || ib.State != structs.IngressFailing || ib.Requests != 0 || ib.AllocID != "alloc-b" {
		t.Fatalf("failing instance: %+v", ib)
	}
}

func TestRoutesShowsDrainingUntilItsRequestsEnd(t *testing.T) {
	g := start(t, Config{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	_, fast := backend(t, "fast")
	slowReg := reg(t, slow.Listener.Addr().String(), "urlprefix-/app")
	slowReg.AllocID = "alloc-slow"
	g.Set([]*structs.ServiceRegistration{slowReg})
	done := make(chan string)
	go func() {
		resp, err := http.Get("http://" + g.HTTPAddr() + "/app/")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for g.activeOf(slowReg) != 1 {
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the slow instance never got its request")
		}
		runtime.Gosched()
	}
	// The slow instance's allocation stops: deregistered, its open request
	// goes on; the route table shows it draining, new requests go to fast.
	g.Set([]*structs.ServiceRegistration{fast})
	in := instanceOf(t, g, "/app", slow.Listener.Addr().String())
	if in == nil || in.State != structs.IngressDraining || in.InFlight != 1 || in.AllocID != "alloc-slow" {
		close(release)
		t.Fatalf("draining instance: %+v", in)
	}
	if _, body := get(t, g, "/app/"); body[:4] != "fast" {
		close(release)
		t.Fatalf("a draining instance got a new request: %q", body)
	}
	g.Set([]*structs.ServiceRegistration{fast}) // carried across rebuilds while open
	if in := instanceOf(t, g, "/app", slow.Listener.Addr().String()); in == nil || in.State != structs.IngressDraining {
		close(release)
		t.Fatalf("draining instance lost on a rebuild: %+v", in)
	}
	close(release)
	if body := <-done; body != "slow" {
		t.Fatalf("the draining instance's request: %q", body)
	}
	if in := instanceOf(t, g, "/app", slow.Listener.Addr().String()); in != nil {
		t.Fatalf("a drained instance still listed: %+v", in)
	}
}

func TestIngressRoutesFilter(t *testing.T) {
	rt := &structs.IngressRoutes{Enabled: true, Routes: []*structs.IngressRouteStatus{
		{Route: "/a", Services: []string{"x", "y"}, Instances: []*structs.IngressInstanceStatus{
			{Namespace: "default", ServiceName: "x"}, {Namespace: "secret", ServiceName: "y"}}},
		{Route: "/b", Services: []string{"z"}, Instances: []*structs.IngressInstanceStatus{{Namespace: "secret", ServiceName: "z"}}},
	}}
	f := rt.Filter(func(ns string) bool { return ns == "default" })
	if len(f.Routes) != 1 || len(f.Routes[0].Instances) != 1 || len(f.Routes[0].Services) != 1 || f.Routes[0].Services[0] != "x" {
		t.Fatalf("filtered: %+v", f.Routes)
	}
	if len(rt.Routes) != 2 || len(rt.Routes[0].Instances) != 2 {
		t.Fatal("Filter changed its receiver")
	}
}

// TestRoutesCountPerRouteAcrossRebuilds: an instance behind two routes
// has a count per route, kept when the table is rebuilt (the first build
// that sees an address gives each route one instance, not one per tag).
func TestRoutesCountPerRouteAcrossRebuilds(t *testing.T) {
	g := start(t, Config{})
	s, r := backend(t, "a")
	r.Tags = append(r.Tags, "urlprefix-/other")
	g.Set([]*structs.ServiceRegistration{r})
	for _, p := range []string{"/app/", "/app/", "/other"} {
		if code, _ := get(t, g, p); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	g.Set([]*structs.ServiceRegistration{r})
	addr := s.Listener.Addr().String()
	if in := instanceOf(t, g, "/app", addr); in == nil || in.Requests != 2 {
		t.Fatalf("/app: %+v", in)
	}
	if in := instanceOf(t, g, "/other", addr); in == nil || in.Requests != 1 {
		t.Fatalf("/other: %+v", in)
	}
}
