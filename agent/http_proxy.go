package agent

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serverProxy forwards server endpoints from a client-only agent to one of
// its configured servers, moving to the next server after a failure.
type serverProxy struct {
	urls   []string
	next   atomic.Uint64
	logger *slog.Logger
}

func newServerProxy(urls []string, logger *slog.Logger) *serverProxy {
	return &serverProxy{urls: urls, logger: logger}
}

// needServer serves h when this agent runs a server, else proxies to a server.
func (s *HTTPServer) needServer(h http.Handler) http.Handler {
	if s.srv != nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.proxy.urls) == 0 || r.Header.Get(forwardedHeader) != "" {
			s.writeError(w, r, &structs.CodedError{Code: http.StatusNotImplemented,
				Msg: "this agent runs no server and knows none to forward " + r.URL.Path + " to; send it to a server, or set client.servers"})
			return
		}
		i := s.proxy.next.Load()
		target := s.proxy.urls[i%uint64(len(s.proxy.urls))]
		sw := &statusWriter{ResponseWriter: w}
		s.proxyVia(s.toServers, sw, r, target, "server")
		if sw.status == http.StatusBadGateway {
			s.proxy.next.CompareAndSwap(i, i+1)
		}
	})
}
