package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// rawExecJobJSON is a job register body whose task touches marker.
func rawExecJobJSON(id, marker string) string {
	return fmt.Sprintf(`{"Job":{"ID":%q,"Type":"batch","Datacenters":["dc1"],"TaskGroups":[{"Name":"g","Count":1,
"Tasks":[{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/sh","args":["-c","touch %s"]}}]}]}}`, id, marker)
}

// send sends one request with the given Host (empty: the address) and headers.
func send(t *testing.T, addr, method, path, host, body string, hdr ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAttackCrossSiteRequests is issue 12 item 8: a web page a developer
// opens must not run a raw_exec job through a -dev agent, by a "simple"
// cross-origin POST (text/plain, no preflight), by DNS rebinding (a foreign
// name resolving to 127.0.0.1, so the request looks same-origin), or by the
// exec websocket. The stock clients (no Origin, no Content-Type) still work.
func TestAttackCrossSiteRequests(t *testing.T) {
	a := startDevAgent(t)
	addr := a.HTTPAddr()
	marker := filepath.Join(t.TempDir(), "pwned")
	body := rawExecJobJSON("csrf", marker)
	browser := "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"
	_, port, _ := net.SplitHostPort(addr)
	attacks := []struct {
		name, host string
		hdr        []string
		want       int
	}{
		{"foreign origin, text/plain", "", []string{"Origin", "http://evil.example", "Content-Type", "text/plain", "User-Agent", browser}, 403},
		{"foreign origin, no content type", "", []string{"Origin", "http://evil.example"}, 403},
		{"foreign origin, JSON", "", []string{"Origin", "https://evil.example", "Content-Type", "application/json"}, 403},
		{"Origin null (sandboxed frame)", "", []string{"Origin", "null", "Content-Type", "text/plain"}, 403},
		{"cross-site fetch metadata", "", []string{"Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"}, 403},
		{"DNS rebinding", "rebind.evil.example:" + port, []string{"Origin", "http://rebind.evil.example:" + port, "Content-Type", "application/json", "User-Agent", browser}, 403},
		{"same-origin browser form", "", []string{"Origin", "http://" + addr, "Content-Type", "application/x-www-form-urlencoded", "User-Agent", browser}, 415},
		{"browser without Origin, text/plain", "", []string{"User-Agent", browser, "Content-Type", "text/plain"}, 415},
	}
	for _, at := range attacks {
		code, msg := send(t, addr, http.MethodPost, "/v1/jobs", at.host, body, at.hdr...)
		if code != at.want {
			t.Errorf("%s: POST /v1/jobs got %d %q, want %d", at.name, code, msg, at.want)
		}
	}
	if code, _ := send(t, addr, http.MethodGet, "/v1/job/csrf", "", ""); code != http.StatusNotFound {
		t.Errorf("a refused request registered the job (GET /v1/job/csrf: %d)", code)
	}
	// Reads from a foreign page: refused too (DNS rebinding reads secrets).
	if code, msg := send(t, addr, http.MethodGet, "/v1/agent/self", "rebind.evil.example:"+port, "", "Sec-Fetch-Site", "same-origin", "User-Agent", browser); code != 403 {
		t.Errorf("DNS-rebound read of /v1/agent/self: got %d %q, want 403", code, msg)
	}
	// The exec websocket from a foreign page.
	code, msg := send(t, addr, http.MethodGet, "/v1/client/allocation/00000000-0000-0000-0000-000000000000/exec?task=t&command=%5B%22id%22%5D", "", "",
		"Origin", "http://evil.example", "Connection", "Upgrade", "Upgrade", "websocket",
		"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if code != http.StatusForbidden {
		t.Errorf("exec websocket from a foreign origin: got %d %q, want 403", code, msg)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the cross-site job ran")
	}

	// What must keep working: the official client and the CLI (no Origin,
	// no Content-Type), curl's default form content type, the UI (same
	// origin, JSON) and a same-origin browser read.
	ok := []struct {
		name, host string
		hdr        []string
	}{
		{"official client", "", []string{"User-Agent", "Go-http-client/1.1"}},
		{"curl -d", "", []string{"User-Agent", "curl/8.5.0", "Content-Type", "application/x-www-form-urlencoded"}},
		{"the UI", "", []string{"Origin", "http://" + addr, "Sec-Fetch-Site", "same-origin", "Content-Type", "application/json", "User-Agent", browser}},
		{"the UI by localhost", "localhost:" + port, []string{"Origin", "http://localhost:" + port, "Sec-Fetch-Site", "same-origin", "Content-Type", "application/json", "User-Agent", browser}},
	}
	for i, c := range ok {
		code, msg := send(t, addr, http.MethodPost, "/v1/jobs", c.host, rawExecJobJSON(fmt.Sprintf("ok%d", i), "/dev/null"), c.hdr...)
		if code != http.StatusOK {
			t.Errorf("%s: POST /v1/jobs got %d %q, want 200", c.name, code, msg)
		}
	}
	if code, msg := send(t, addr, http.MethodGet, "/v1/jobs", "", "", "Sec-Fetch-Site", "same-origin", "User-Agent", browser); code != http.StatusOK {
		t.Errorf("same-origin browser read: got %d %q", code, msg)
	}
}

// TestAttackSlowAndIdleConnections is issue 12 item 11: a client that
// sends its body a byte at a time, or keeps a connection open doing
// nothing, is cut off; blocking queries and the event stream, which live
// longer than the read timeout, are not.
func TestAttackSlowAndIdleConnections(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) {
		c.Limits.HTTPReadHeaderTimeout = 500 * time.Millisecond
		c.Limits.HTTPReadTimeout = time.Second
		c.Limits.HTTPIdleTimeout = time.Second
	})
	addr := a.HTTPAddr()
	// closedWithin reports whether the server closes conn within d.
	closedWithin := func(conn net.Conn, d time.Duration) bool {
		_ = conn.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}
	dial := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	// Slow headers.
	c1 := dial()
	fmt.Fprintf(c1, "GET /v1/jobs HTTP/1.1\r\nHost: %s\r\n", addr)
	if !closedWithin(c1, 10*time.Second) {
		t.Errorf("a connection sending its headers slowly was not closed")
	}
	// Slow body: one byte, then nothing.
	c2 := dial()
	fmt.Fprintf(c2, "PUT /v1/jobs HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n{", addr)
	if !closedWithin(c2, 10*time.Second) {
		t.Errorf("a connection sending its body slowly was not closed")
	}
	// Idle keep-alive connection after one request.
	c3 := dial()
	fmt.Fprintf(c3, "GET /v1/agent/health HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	resp, err := http.ReadResponse(bufio.NewReader(c3), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !closedWithin(c3, 10*time.Second) {
		t.Errorf("an idle kept-alive connection was not closed")
	}

	// A blocking query waits 3 s, past the 1 s read timeout, and answers.
	_, _, index := getIndex(t, addr, "/v1/jobs")
	start := time.Now()
	code, _, _ := getIndex(t, addr, fmt.Sprintf("/v1/jobs?index=%d&wait=3s", index))
	if code != http.StatusOK || time.Since(start) < 2*time.Second {
		t.Errorf("blocking query past the read timeout: got %d after %v, want 200 after its wait", code, time.Since(start))
	}
	// The event stream stays open past the read timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/event/stream?topic=Job", nil)
	es, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer es.Body.Close()
	time.Sleep(2 * time.Second) // outlive the read timeout before writing the event
	if code, msg := send(t, addr, http.MethodPost, "/v1/jobs", "", rawExecJobJSON("late", "/dev/null")); code != 200 {
		t.Fatalf("register: %d %s", code, msg)
	}
	sc := bufio.NewScanner(es.Body)
	sc.Buffer(nil, 1<<20)
	got := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"late"`) {
			got = true
			break
		}
	}
	if !got {
		t.Errorf("the event stream ended before the job's event (%v)", sc.Err())
	}
}

// getIndex GETs path and returns the status, body and X-Nomad-Index.
func getIndex(t *testing.T, addr, path string) (int, string, uint64) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var idx uint64
	_, _ = fmt.Sscan(resp.Header.Get("X-Nomad-Index"), &idx)
	return resp.StatusCode, string(b), idx
}

// TestAttackLongPollLimit is issue 12 item 11: one client may hold only so
// many blocking queries at once; the next is a 429 naming the limit, and
// slots come back when queries end.
func TestAttackLongPollLimit(t *testing.T) {
	const limit = 5
	// No client in this agent: its allocation watch, a blocking query from
	// 127.0.0.1 too, would take some of the test's slots.
	a := startDevAgentWith(t, func(c *Config) {
		c.Limits.HTTPMaxLongPollsPerClient = limit
		c.Client.Enabled = false
	})
	addr := a.HTTPAddr()
	_, _, index := getIndex(t, addr, "/v1/jobs")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	started := make(chan struct{}, limit)
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// An index far ahead: a write the leader makes at start (a job
			// summary reconcile) must not end these polls before they are counted.
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/v1/jobs?index=%d&wait=5m", addr, index+1_000_000), nil)
			started <- struct{}{}
			// The probe below is a blocking query too (wait=1ms): one that
			// came first takes a slot for a moment, and a poller refused then
			// asks again.
			for ctx.Err() == nil {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusTooManyRequests {
					return
				}
			}
		}()
	}
	for range limit {
		<-started
	}
	waitFor(t, "the blocking queries to be counted", 10*time.Second, func() (bool, string) {
		code, body, _ := getIndex(t, addr, fmt.Sprintf("/v1/jobs?index=%d&wait=1ms", index+1000))
		return code == http.StatusTooManyRequests && strings.Contains(body, "http_max_long_polls_per_client"), fmt.Sprintf("%d %s", code, body)
	})
	if code, _, _ := getIndex(t, addr, "/v1/jobs"); code != http.StatusOK {
		t.Errorf("a plain read was refused while the long polls are full: %d", code)
	}
	cancel()
	wg.Wait()
	waitFor(t, "the slots to be released", 10*time.Second, func() (bool, string) {
		code, body, _ := getIndex(t, addr, fmt.Sprintf("/v1/jobs?index=%d&wait=1ms", index))
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
}

// TestAttackInstantBlockingQueries: a blocking query whose index has
// already passed (?index=1) answers at once: it is work like any read, and
// a flood of them must not get past the server's admission while its
// slots are full (it did: every ?index= query was served without a slot).
// A long poll that waits for a change holds no slot meanwhile.
func TestAttackInstantBlockingQueries(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.Client.Enabled = false })
	addr := a.HTTPAddr()
	_, _, index := getIndex(t, addr, "/v1/jobs")
	adm := a.http.admission
	// The server is saturated: every slot is taken.
	for range cap(adm.slots) {
		adm.slots <- struct{}{}
	}
	if code, body, _ := getIndex(t, addr, "/v1/jobs?index=1"); code != http.StatusTooManyRequests {
		t.Errorf("?index=1 on a saturated server: %d %s, want 429 after waiting for a slot", code, body)
	}
	for range cap(adm.slots) {
		<-adm.slots
	}
	// A long poll that waits gives its slot back: with it waiting, the
	// slots are all free.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/v1/jobs?index=%d&wait=5m", addr, index+1_000_000), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitFor(t, "the long poll to wait without a slot", 10*time.Second, func() (bool, string) {
		waiting := testutil.ToFloat64(a.http.metrics.blocking)
		return waiting == 1 && len(adm.slots) == 0, fmt.Sprintf("%v waiting, %d slots held", waiting, len(adm.slots))
	})
	select {
	case code := <-done:
		t.Fatalf("the long poll ended (%d) before a change", code)
	default:
	}
	cancel()
	<-done
}
