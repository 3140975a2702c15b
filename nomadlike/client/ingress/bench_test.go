package ingress

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkIngress compares, on loopback, requests straight to an
// instance ("direct"), through a bare httputil.ReverseProxy round-robin
// over two instances ("floor": the least any Go reverse proxy costs) and
// through the ingress to the same two instances ("ingress").
//
// Every variant is driven by the same fixed number of keep-alive client
// connections (c=1: one request at a time, the added latency of the hop
// without queueing; c=16: saturation, throughput), whatever GOMAXPROCS is.
// The load generator, the proxy and the instances share the machine's
// cores: a proxied request costs about twice the HTTP work of a direct one
// (the proxy reads and writes a request and a response too), so on a
// CPU-bound machine ingress/direct req/s tends to 1/2 for any proxy (less
// on loopback, where a write also runs the receiver's TCP stack). So the
// figures that compare fairly are: ingress vs floor (the ingress's own
// cost), added-p50/p99-ms at c=1 (the hop's latency, over direct at the
// same concurrency), and hop-cpu-us/req (process CPU per request minus
// direct's: what the hop costs; a core of its own proxies about
// 1e6/hop-cpu-us/req requests per second).
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
	floor := httptest.NewServer(floorProxy(b, s1.URL, s2.URL))
	defer floor.Close()
	direct := map[int]loadResult{} // by concurrency, for the added figures
	for _, conc := range []int{1, 16} {
		for _, c := range []struct{ name, url string }{
			{"direct", s1.URL + "/app/x"},
			{"floor", floor.URL + "/app/x"},
			{"ingress", "http://" + g.HTTPAddr() + "/app/x"},
		} {
			b.Run(fmt.Sprintf("%s/c=%d", c.name, conc), func(b *testing.B) {
				r := load(b, c.url, conc)
				if c.name == "direct" {
					direct[conc] = r
					return
				}
				d, ok := direct[conc]
				if !ok || r.n == 0 {
					return
				}
				b.ReportMetric(r.cpuPerReq-d.cpuPerReq, "hop-cpu-us/req")
				if conc == 1 { // at c=16 latency is queueing for the shared cores
					b.ReportMetric((r.p50-d.p50).Seconds()*1000, "added-p50-ms")
					b.ReportMetric((r.p99-d.p99).Seconds()*1000, "added-p99-ms")
				}
			})
		}
	}
}

// floorProxy is a reverse proxy with nothing but round robin and
// X-Forwarded-*, on the ingress's transport and buffers.
func floorProxy(b *testing.B, instances ...string) http.Handler {
	var urls []*url.URL
	for _, s := range instances {
		u, err := url.Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		urls = append(urls, u)
	}
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(urls[next.Add(1)%uint64(len(urls))])
			pr.SetXForwarded()
		},
		Transport:  newTransport(),
		BufferPool: bufferPool{},
	}
}

// loadResult is what load measured.
type loadResult struct {
	n         int
	p50, p99  time.Duration
	cpuPerReq float64 // microseconds
}

// load sends b.N GETs of u over exactly conc keep-alive connections and
// reports req/s, p50 and p99 latency and process CPU per request.
func load(b *testing.B, u string, conc int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: conc, MaxIdleConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	get := func() bool {
		resp, err := client.Get(u)
		if err != nil {
			b.Error(err)
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("status %d", resp.StatusCode)
			return false
		}
		return true
	}
	for range conc { // open the connections before timing
		get()
	}
	lat := make([][]time.Duration, conc)
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if !get() {
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return loadResult{}
	}
	slices.Sort(all)
	r := loadResult{n: len(all), p50: all[len(all)/2], p99: all[len(all)*99/100],
		cpuPerReq: float64(cpu.Microseconds()) / float64(len(all))}
	b.ReportMetric(float64(len(all))/el.Seconds(), "req/s")
	b.ReportMetric(r.p50.Seconds()*1000, "p50-ms")
	b.ReportMetric(r.p99.Seconds()*1000, "p99-ms")
	b.ReportMetric(r.cpuPerReq, "cpu-us/req")
	return r
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
