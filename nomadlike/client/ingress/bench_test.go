package ingress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkIngress compares requests through the ingress to two httptest
// instances with requests straight to one instance, on loopback, with
// keep-alive clients in parallel. Reported: req/s and p99 latency (the
// ingress's added p99 is the difference of the two p99-ms figures).
func BenchmarkIngress(b *testing.B) {
	body := []byte("hello from the instance\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	s1, s2 := httptest.NewServer(h), httptest.NewServer(h)
	defer s1.Close()
	defer s2.Close()
	g, err := New(Config{Bind: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Start(); err != nil {
		b.Fatal(err)
	}
	defer g.Shutdown(b.Context())
	g.Set([]*structs.ServiceRegistration{reg(b, s1.Listener.Addr().String(), "urlprefix-/app"), reg(b, s2.Listener.Addr().String(), "urlprefix-/app")})
	for _, c := range []struct{ name, url string }{
		{"direct", s1.URL + "/app/x"},
		{"ingress", "http://" + g.HTTPAddr() + "/app/x"},
	} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var mu sync.Mutex
			var lat []time.Duration
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					resp, err := client.Get(c.url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			el := time.Since(start)
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/el.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
