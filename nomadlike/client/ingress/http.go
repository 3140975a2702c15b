package ingress

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// errNoInstance: every instance of the route was tried.
var errNoInstance = errors.New("no healthy instance left to try")

// ServeHTTP routes a request to an instance of its route.
func (g *Ingress) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	start := time.Now()
	r := g.table.Load().match(req.Host, req.URL.Path)
	if r == nil {
		http.Error(w, fmt.Sprintf("nomadlike ingress: no route for %s%s: no healthy instance of a service tagged urlprefix-%s (or a shorter prefix) is registered", req.Host, req.URL.Path, req.URL.Path), http.StatusNotFound)
		return
	}
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	r.proxy.ServeHTTP(sw, req)
	r.m.observe(sw.code, time.Since(start))
}

// newTransport is the keep-alive pool to the instances. Compression is the
// client's and the instance's business: the transport neither asks for it
// nor decodes it (the client's Accept-Encoding passes through).
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// routeProxy is the reverse proxy of one HTTP route: its rewrite, retries
// and error replies know the route, so a request carries no state of its
// own through the proxy (no context value, no request copy).
func (g *Ingress) routeProxy(r *route) *httputil.ReverseProxy {
	strip := r.Strip
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "instance" // set per attempt by the transport
			if strip != "" && strings.HasPrefix(pr.Out.URL.Path, strip) {
				pr.Out.URL.Path = strings.TrimPrefix(pr.Out.URL.Path, strip)
				if !strings.HasPrefix(pr.Out.URL.Path, "/") {
					pr.Out.URL.Path = "/" + pr.Out.URL.Path
				}
				pr.Out.URL.RawPath = ""
			}
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host // the instance sees the host the client asked for
		},
		Transport:  &retryTransport{g: g, r: r},
		BufferPool: bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if req.Context().Err() != nil {
				return // the client went away
			}
			g.logger.Warn("ingress: upstream failed", "route", r.key, "error", err)
			http.Error(w, fmt.Sprintf("nomadlike ingress: route %s: %v", r.key, err), http.StatusBadGateway)
		},
	}
}

// retryTransport picks an instance of its route per attempt and retries
// on another one when a connection cannot be made (nothing was sent).
type retryTransport struct {
	g *Ingress
	r *route
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := req.Body == nil || req.Body == http.NoBody
	var triedBuf [4]*target
	tried := triedBuf[:0]
	var last error
	for {
		tg := t.g.pick(t.r, tried)
		if tg == nil {
			if last == nil {
				last = errNoInstance
			}
			return nil, last
		}
		tried = append(tried, tg)
		req.URL.Host = tg.addr
		tg.active.Add(1)
		resp, err := t.g.transport.RoundTrip(req)
		if err != nil {
			tg.active.Add(-1)
			t.r.m.upstream.Inc()
			last = fmt.Errorf("instance %s: %w", tg.addr, err)
			if replayable && isDialError(err) {
				continue
			}
			return nil, last
		}
		tg.served.Add(1)
		if resp.StatusCode == http.StatusSwitchingProtocols {
			tg.active.Add(-1) // a websocket: the body must stay an io.ReadWriteCloser
			return resp, nil
		}
		resp.Body = &countedBody{ReadCloser: resp.Body, t: tg}
		return resp, nil
	}
}

// isDialError reports an error making the connection: the request was
// not sent, so another instance can take it.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// countedBody ends its instance's open request when closed.
type countedBody struct {
	io.ReadCloser
	t    *target
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.t.active.Add(-1) })
	return b.ReadCloser.Close()
}

// statusWriter records the response code.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// copyBuffers are the proxy's response copy buffers, reused across
// requests (ReverseProxy otherwise allocates 32 KiB per request).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// bufferPool implements httputil.BufferPool over copyBuffers.
type bufferPool struct{}

func (bufferPool) Get() []byte  { return *(copyBuffers.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }
