package agent

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// refuseCrossSite stops web pages from driving the API through a visitor's
// browser (cross-site request forgery and DNS rebinding). It judges only
// requests a browser sent (an Origin or Sec-Fetch-* header, or a browser's
// User-Agent); the CLI, the official Go client and curl send none of them.
// A browser request is served when
//   - it is not cross-site (Sec-Fetch-Site) and its Origin, when sent, is
//     the address the request was sent to (the page came from this agent);
//   - that address is one of the agent's own: an IP address, localhost, the
//     host or node name or an advertised address (a foreign name resolving
//     to this agent is DNS rebinding);
//   - a write sends Content-Type: application/json or an X-Nomad-* header,
//     which a page on another origin cannot send without a CORS preflight
//     (this API answers none).
func (s *HTTPServer) refuseCrossSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkBrowserRequest(r); err != nil {
			s.logger.Warn("refused a cross-site browser request", "method", r.Method, "path", r.URL.Path,
				"origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr, "reason", err)
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *HTTPServer) checkBrowserRequest(r *http.Request) error {
	if !fromBrowser(r) {
		return nil
	}
	forbid := func(format string, args ...any) error {
		return &structs.CodedError{Code: http.StatusForbidden, Err: structs.ErrPermissionDenied,
			Msg: fmt.Sprintf(format, args...) + "; this API serves browsers only on pages this agent serves itself (open its UI at /ui/)"}
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return forbid("cross-site request refused (Sec-Fetch-Site: cross-site, Origin %q)", r.Header.Get("Origin"))
	}
	if err := sameOrigin(r); err != nil {
		return forbid("%v", err)
	}
	if !s.ownHost(r.Host) {
		return forbid("a browser reached this agent by the name %q, which is not one of its addresses (an IP, localhost, the host name %q, an advertised address, or limits { http_allowed_hosts }): refused, as a foreign name resolving to this agent is DNS rebinding; add the name to http_allowed_hosts if it is yours", hostOnly(r.Host), s.cfg.Agent.Name)
	}
	if isWrite(r.Method) && !jsonOrNomadHeader(r) {
		return &structs.CodedError{Code: http.StatusUnsupportedMediaType,
			Msg: fmt.Sprintf("a write from a browser must send Content-Type: application/json (got %q) or an X-Nomad-Token header; a form or text/plain body is what a foreign page can send", r.Header.Get("Content-Type"))}
	}
	return nil
}

// fromBrowser reports whether r carries the marks of a web browser.
func fromBrowser(r *http.Request) bool {
	h := r.Header
	return h.Get("Origin") != "" || h.Get("Sec-Fetch-Site") != "" || h.Get("Sec-Fetch-Mode") != "" ||
		strings.HasPrefix(h.Get("User-Agent"), "Mozilla/")
}

// sameOrigin checks that r's Origin header, if any, names the host r was
// sent to (also the exec websocket's CheckOrigin).
func sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("request from origin %q refused: not a web page of this agent", origin)
	}
	if !strings.EqualFold(withDefaultPort(u.Host, u.Scheme), withDefaultPort(r.Host, requestScheme(r))) {
		return fmt.Errorf("cross-origin request from %s to %s refused", origin, r.Host)
	}
	return nil
}

func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// withDefaultPort returns host:port, adding the scheme's default port.
func withDefaultPort(hostport, scheme string) string {
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(hostport, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(hostport, "[]"), "80")
}

// hostOnly strips the port from a Host header.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

// ownHost reports whether a browser may reach the agent by this Host: an IP
// literal, localhost, a name of this agent or host, or an allowed host.
func (s *HTTPServer) ownHost(hostport string) bool {
	h := strings.ToLower(strings.TrimSuffix(hostOnly(hostport), "."))
	if net.ParseIP(h) != nil || h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	names := []string{s.cfg.Agent.Name, s.cfg.Agent.Advertise.HTTP, s.cfg.Agent.Addresses.HTTP, s.cfg.Agent.BindAddr}
	names = append(names, s.cfg.Agent.Limits.HTTPAllowedHosts...)
	if hn, err := os.Hostname(); err == nil {
		names = append(names, hn)
	}
	for _, n := range names {
		n = strings.ToLower(hostOnly(n))
		if n != "" && h == n {
			return true
		}
	}
	return false
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// jsonOrNomadHeader reports whether r declares a JSON body or carries an
// X-Nomad-* header: either needs a CORS preflight from a foreign page.
func jsonOrNomadHeader(r *http.Request) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		return true
	}
	for k := range r.Header {
		if strings.HasPrefix(k, "X-Nomad-") {
			return true
		}
	}
	return false
}
