package ingress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestMatchLongestPrefixThenHost(t *testing.T) {
	mk := func(tag string) *structs.ServiceRegistration {
		return &structs.ServiceRegistration{Address: "127.0.0.1", Port: len(tag), Tags: []string{tag}}
	}
	regs := []*structs.ServiceRegistration{mk("urlprefix-/"), mk("urlprefix-/app"), mk("urlprefix-/app/api"), mk("urlprefix-a.example/")}
	tb := build(regs, func(_, addr string) *target { return &target{addr: addr} })
	for path, want := range map[string]string{"/": "/", "/app/x": "/app", "/app/api/v1": "/app/api", "/other": "/"} {
		if r := tb.match("b.example:80", path); r == nil || r.key != want {
			t.Errorf("b.example%s: got %v, want %s", path, r, want)
		}
	}
	if r := tb.match("A.example:80", "/app/api"); r == nil || r.key != "a.example/" {
		t.Errorf("host route: got %+v", r)
	}
}

// backend is an instance answering its name.
func backend(t testing.TB, name string) (*httptest.Server, *structs.ServiceRegistration) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s xff=%s host=%s", name, r.URL.Path, r.Header.Get("X-Forwarded-For"), r.Host)
	}))
	t.Cleanup(s.Close)
	return s, reg(t, s.Listener.Addr().String(), "urlprefix-/app strip=/app")
}

func reg(t testing.TB, addr string, tags ...string) *structs.ServiceRegistration {
	h, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return &structs.ServiceRegistration{ServiceName: "web", Address: h, Port: port, Tags: tags}
}

func start(t testing.TB, cfg Config) *Ingress {
	cfg.Bind = "127.0.0.1"
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown(t.Context()) })
	return g
}

func get(t testing.TB, g *Ingress, path string) (int, string) {
	t.Helper()
	return getHost(t, g, "", path)
}

// getHost is get with the request's Host header set to host ("": the
// listener's address).
func getHost(t testing.TB, g *Ingress, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+g.HTTPAddr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPRoundRobinHealthAndRetry(t *testing.T) {
	g := start(t, Config{})
	_, a := backend(t, "a")
	_, b := backend(t, "b")
	if code, body := get(t, g, "/app/x"); code != 404 || !strings.Contains(body, "urlprefix-") {
		t.Fatalf("no route: %d %s", code, body)
	}
	g.Set([]*structs.ServiceRegistration{a, b})
	seen := map[string]int{}
	for range 6 {
		code, body := get(t, g, "/app/x")
		if code != 200 || !strings.Contains(body, " /x xff=127.0.0.1 host=127.0.0.1:") {
			t.Fatalf("got %d %q", code, body)
		}
		seen[body[:1]]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Fatalf("round robin: %v", seen)
	}
	// b's checks fail: only a gets requests.
	b.Failing = true
	g.Set([]*structs.ServiceRegistration{a, b})
	for range 4 {
		if _, body := get(t, g, "/app/"); body[:1] != "a" {
			t.Fatalf("unhealthy instance got a request: %q", body)
		}
	}
	// A refused connection goes to the other instance.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := reg(t, ln.Addr().String(), "urlprefix-/app")
	ln.Close()
	b.Failing = false
	g.Set([]*structs.ServiceRegistration{a, dead})
	for range 4 {
		if code, body := get(t, g, "/app/"); code != 200 || body[:1] != "a" {
			t.Fatalf("retry: %d %q", code, body)
		}
	}
	// Only dead instances: a 502 that names the route.
	g.Set([]*structs.ServiceRegistration{dead})
	if code, body := get(t, g, "/app/"); code != 502 || !strings.Contains(body, "route /app") {
		t.Fatalf("all dead: %d %q", code, body)
	}
}

func TestLeastConn(t *testing.T) {
	g := start(t, Config{Balance: LeastConn})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	defer close(release)
	_, fast := backend(t, "fast")
	slowReg := reg(t, slow.Listener.Addr().String(), "urlprefix-/app")
	g.Set([]*structs.ServiceRegistration{slowReg})
	go http.Get("http://" + g.HTTPAddr() + "/app/") //nolint:errcheck // held open by slow
	waitUntil(t, "the slow instance to hold its request", func() (bool, string) {
		return g.activeOf(slowReg) == 1, fmt.Sprintf("%d in flight", g.activeOf(slowReg))
	})
	g.Set([]*structs.ServiceRegistration{slowReg, fast}) // the open request's count carries over
	for range 4 {
		if _, body := get(t, g, "/app/"); !strings.HasPrefix(body, "fast") {
			t.Fatalf("least_conn sent to the busy instance: %q", body)
		}
	}
}

func TestWebsocketUpgrade(t *testing.T) {
	g := start(t, Config{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		line, _ := brw.ReadString('\n')
		c.Write([]byte("echo " + line))
	}))
	defer up.Close()
	g.Set([]*structs.ServiceRegistration{reg(t, up.Listener.Addr().String(), "urlprefix-/ws")})
	c, err := net.Dial("tcp", g.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprintf(c, "hello\n")
	line, _ := br.ReadString('\n')
	if line != "echo hello\n" {
		t.Fatalf("through the upgraded connection: %q", line)
	}
}

func TestTCPRoute(t *testing.T) {
	g := start(t, Config{})
	up, _ := net.Listen("tcp", "127.0.0.1:0")
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	g.Set([]*structs.ServiceRegistration{reg(t, up.Addr().String(), fmt.Sprintf("urlprefix-:%d proto=tcp", port))})
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "ping\n")
	c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(c)
	c.Close()
	if string(b) != "ping\n" {
		t.Fatalf("echo through the TCP route: %q", b)
	}
	// The route goes away: its listener closes.
	g.Set(nil)
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		c.Close()
		t.Fatal("the TCP route's port still listens after its service left")
	}
}

// activeOf is the open requests of reg's instance, over its routes.
func (g *Ingress) activeOf(reg *structs.ServiceRegistration) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n int64
	for _, tg := range g.targets {
		if tg.addr == net.JoinHostPort(reg.Address, strconv.Itoa(reg.Port)) {
			n += tg.active.Load()
		}
	}
	return n
}
