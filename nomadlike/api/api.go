// Package api is the typed Go client for nomadlike's HTTP API. The CLI, the
// client agent and the tests use it. It speaks Nomad's wire format, with the
// project's own structs.
//
// Client-to-server calls (node registration, heartbeats, allocation updates)
// are ordinary API calls, authenticated by the node's secret in X-Nomad-Token.
package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// DefaultAddress is used when neither the config nor NOMAD_ADDR says otherwise.
const DefaultAddress = "http://127.0.0.1:4646"

// Config configures a Client.
type Config struct {
	// Address is the agent's base URL, e.g. http://127.0.0.1:4646.
	Address string
	// Token is sent as X-Nomad-Token (an ACL token, or a node's secret).
	Token string
	// HTTPClient is used for requests; nil means a client without a global timeout
	// (blocking queries and log streams can be long).
	HTTPClient *http.Client
	// TLS configures https:// from files (tls.go); ignored when HTTPClient
	// or TLSClientConfig is set.
	TLS *TLSConfig
	// TLSClientConfig is a ready TLS configuration (an agent's own);
	// ignored when HTTPClient is set.
	TLSClientConfig *tls.Config

	envErr error // a bad TLS environment variable, reported by NewClient
}

// DefaultConfig reads NOMAD_ADDR, NOMAD_TOKEN and the TLS variables
// (NOMAD_CACERT, ...; an invalid NOMAD_SKIP_VERIFY is an error of NewClient).
func DefaultConfig() Config {
	c := Config{Address: DefaultAddress}
	if a := os.Getenv("NOMAD_ADDR"); a != "" {
		c.Address = a
	}
	c.Token = os.Getenv("NOMAD_TOKEN")
	c.TLS, c.envErr = TLSConfigFromEnv()
	return c
}

// Client talks to one agent. It is safe for concurrent use.
type Client struct {
	addr  *url.URL
	token string
	http  *http.Client
	// nodeID, when set, names the node whose secret token is (AsNode).
	nodeID string
	// msgpack is set once the agent answered a client protocol call in
	// msgpack (shared by the copies WithToken and AsNode make).
	msgpack *atomic.Bool
}

// NewClient returns a client for cfg.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if !strings.Contains(cfg.Address, "://") {
		cfg.Address = "http://" + cfg.Address
	}
	u, err := url.Parse(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("agent address %q: %w", cfg.Address, err)
	}
	if cfg.envErr != nil {
		return nil, cfg.envErr
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tc := cfg.TLSClientConfig
		if tc == nil && cfg.TLS != nil {
			if tc, err = cfg.TLS.Build(); err != nil {
				return nil, err
			}
		}
		hc = &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSClientConfig: tc}}
	}
	return &Client{addr: u, token: cfg.Token, http: hc, msgpack: new(atomic.Bool)}, nil
}

// WithToken returns a client that sends token instead (sharing the connections).
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// AsNode returns a client that names node nodeID as the owner of its token
// (the node's secret), in the header structs.NodeIDHeader: the servers
// grant a node's secret access beyond the client protocol (the ingress's
// variables, and every namespace's service catalog) only with it.
func (c *Client) AsNode(nodeID string) *Client {
	cp := *c
	cp.nodeID = nodeID
	return &cp
}

// Address returns the agent's base URL.
func (c *Client) Address() string { return c.addr.String() }

// QueryOptions are the common parameters of a read.
type QueryOptions struct {
	Namespace string
	Region    string
	Prefix    string
	Filter    string
	PerPage   int
	NextToken string
	// WaitIndex and WaitTime make the read a blocking query: it returns when
	// the index passes WaitIndex or WaitTime elapses.
	WaitIndex  uint64
	WaitTime   time.Duration
	AllowStale bool
	// Params are extra query parameters.
	Params map[string]string
}

// QueryMeta is what a read's response headers say.
type QueryMeta struct {
	LastIndex   uint64
	KnownLeader bool
	LastContact time.Duration
	NextToken   string
}

// Error is an unsuccessful HTTP response: the status code and the agent's message.
type Error struct {
	StatusCode int
	Message    string
	Method     string
	Path       string
	// Index is the reply's X-Nomad-Index (0: none), e.g. of a blocking
	// read that found nothing.
	Index uint64
	// RetryAfter is the reply's Retry-After delay (0: none), sent with a
	// 429 by a busy server.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// RetryAfter reports whether err is worth retrying as it is, and after at
// least how long: a 429 (the server is busy, or the caller holds too many
// long polls) waits for its Retry-After, a 503 (no cluster leader, as while
// the servers elect one) needs no minimum. Callers back off beyond it.
func RetryAfter(err error) (time.Duration, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return e.RetryAfter, true
	}
	return 0, false
}

// IsNotFound reports whether err is a 404 from the agent.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

func (c *Client) url(path string, q *QueryOptions) string {
	u := *c.addr
	// path is escaped (pathEscape): keep "%2F" in a child job's ID as is.
	base := strings.TrimSuffix(u.Path, "/")
	if p, err := url.PathUnescape(path); err == nil && p != path {
		u.Path, u.RawPath = base+p, strings.TrimSuffix(c.addr.EscapedPath(), "/")+path
	} else {
		u.Path = base + path
	}
	v := url.Values{}
	if q != nil {
		if q.Namespace != "" {
			v.Set("namespace", q.Namespace)
		}
		if q.Region != "" {
			v.Set("region", q.Region)
		}
		if q.Prefix != "" {
			v.Set("prefix", q.Prefix)
		}
		if q.Filter != "" {
			v.Set("filter", q.Filter)
		}
		if q.PerPage > 0 {
			v.Set("per_page", strconv.Itoa(q.PerPage))
		}
		if q.NextToken != "" {
			v.Set("next_token", q.NextToken)
		}
		if q.WaitIndex > 0 {
			v.Set("index", strconv.FormatUint(q.WaitIndex, 10))
		}
		if q.WaitTime > 0 {
			v.Set("wait", q.WaitTime.String())
		}
		if q.AllowStale {
			v.Set("stale", "")
		}
		for k, val := range q.Params {
			v.Set(k, val)
		}
	}
	u.RawQuery = v.Encode()
	return u.String()
}

// Do sends a request and returns the raw response for streaming endpoints.
// The caller closes the body. A non-2xx status is returned as *Error.
func (c *Client) Do(ctx context.Context, method, path string, q *QueryOptions, body any) (*http.Response, error) {
	return c.do(ctx, method, path, q, nil, body)
}

// do is Do with extra request headers h (may be nil).
func (c *Client) do(ctx context.Context, method, path string, q *QueryOptions, h http.Header, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path, q), rd)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, path)
}

// send adds the token to req and sends it; a non-2xx status is returned as
// *Error naming path.
func (c *Client) send(req *http.Request, path string) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("X-Nomad-Token", c.token)
	}
	if c.nodeID != "" {
		req.Header.Set(structs.NodeIDHeader, c.nodeID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		idx, _ := strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
		var after time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			after = time.Duration(secs) * time.Second
		}
		return nil, &Error{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(msg)), Method: req.Method, Path: path, Index: idx, RetryAfter: after}
	}
	return resp, nil
}

// query GETs path into out and returns the response metadata.
func (c *Client) query(ctx context.Context, path string, q *QueryOptions, out any) (*QueryMeta, error) {
	resp, err := c.Do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("GET %s: decode response: %w", path, err)
	}
	return parseMeta(resp), nil
}

// write sends method to path with body and decodes the reply into out (if not nil).
func (c *Client) write(ctx context.Context, method, path string, q *QueryOptions, body, out any) error {
	return c.writeWith(ctx, method, path, q, nil, body, out)
}

// writeWith is write with extra request headers h (may be nil).
func (c *Client) writeWith(ctx context.Context, method, path string, q *QueryOptions, h http.Header, body, out any) error {
	resp, err := c.do(ctx, method, path, q, h, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

func parseMeta(resp *http.Response) *QueryMeta {
	m := &QueryMeta{}
	m.LastIndex, _ = strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	m.KnownLeader = resp.Header.Get("X-Nomad-KnownLeader") == "true"
	if ms, err := strconv.ParseUint(resp.Header.Get("X-Nomad-LastContact"), 10, 64); err == nil {
		m.LastContact = time.Duration(ms) * time.Millisecond
	}
	m.NextToken = resp.Header.Get("X-Nomad-NextToken")
	return m
}

func pathEscape(s string) string { return url.PathEscape(s) }
