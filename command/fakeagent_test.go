package command

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// fakeAgent serves recorded API responses. Each route holds versions of its
// body at increasing indexes and answers blocking queries as the agent does:
// a request with ?index=N gets the first version above N, or waits (up to
// ?wait) when there is none, then gets the newest. A version added while a
// request waits answers it.
type fakeAgent struct {
	mu       sync.Mutex
	routes   map[string][]fakeVersion
	requests []string
	bodies   map[string][]byte
	changed  chan struct{} // closed (and replaced) when a version is added
}

type fakeVersion struct {
	index  uint64
	status int
	body   any // encoded as JSON, or written as is when it is a rawBody
}

// rawBody is written to the response as is.
type rawBody string

func newFakeAgent(t *testing.T) (*fakeAgent, string) {
	t.Helper()
	f := &fakeAgent{routes: map[string][]fakeVersion{}, bodies: map[string][]byte{}, changed: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// on adds a version of the response to "METHOD /path" at index.
func (f *fakeAgent) on(method, path string, index uint64, body any) {
	f.onStatus(method, path, index, http.StatusOK, body)
}

// onStatus is on with an HTTP status.
func (f *fakeAgent) onStatus(method, path string, index uint64, status int, body any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := method + " " + path
	f.routes[k] = append(f.routes[k], fakeVersion{index: index, status: status, body: body})
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := r.Method + " " + r.URL.Path
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if body.Len() > 0 {
		f.bodies[k] = body.Bytes()
	}
	f.mu.Unlock()
	min, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	timeout := time.After(wait)
	var v fakeVersion
	for {
		f.mu.Lock()
		versions, changed := f.routes[k], f.changed
		f.mu.Unlock()
		if len(versions) == 0 {
			http.Error(w, "no recorded response for "+k, http.StatusNotFound)
			return
		}
		v = versions[len(versions)-1]
		found := false
		for _, cand := range versions {
			if cand.index > min {
				v, found = cand, true
				break
			}
		}
		if found || min == 0 {
			break
		}
		select {
		case <-r.Context().Done():
			return
		case <-timeout:
		case <-changed:
			continue
		}
		break
	}
	w.Header().Set("X-Nomad-Index", strconv.FormatUint(v.index, 10))
	if s, ok := v.body.(rawBody); ok {
		w.WriteHeader(v.status)
		_, _ = w.Write([]byte(s))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(v.status)
	_ = json.NewEncoder(w).Encode(v.body)
}

// requested reports whether a request line starting with prefix was made.
func (f *fakeAgent) requested(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// logFrames encodes text as a log stream of one frame per line.
func logFrames(text string) rawBody {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			_ = enc.Encode(api.StreamFrame{Data: []byte(l), File: "stderr.0"})
		}
	}
	return rawBody(b.String())
}

// testNow is the fixed time tests run at.
var testNow = time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)

// runCLI runs the CLI with args against nothing but what args say, and
// returns the exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, now: func() time.Time { return testNow }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := c.run(ctx, args)
	return code, out.String(), errOut.String()
}

var stampRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// lines splits output into lines with timestamps replaced by <T>.
func lines(s string) []string {
	s = stampRE.ReplaceAllString(s, "<T>")
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// containsInOrder reports the first of want not found in got in order.
func containsInOrder(got, want []string) (missing string, ok bool) {
	i := 0
	for _, w := range want {
		for i < len(got) && got[i] != w {
			i++
		}
		if i == len(got) {
			return w, false
		}
		i++
	}
	return "", true
}
