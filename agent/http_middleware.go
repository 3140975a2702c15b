package agent

import (
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"sync"
	"time"
)

// middleware is the one chain every request passes, outermost first:
// logging and metrics, panic recovery, cross-site refusal, body size
// limit, read deadline, long-poll limit, agent certificates of
// client-to-server calls (tls.rpc), authentication.
func (s *HTTPServer) middleware(next http.Handler) http.Handler {
	h := s.authenticate(next)
	h = s.requireAgentCert(h)
	h = s.limitLongPolls(h)
	h = s.liftReadDeadline(h)
	h = s.limitBody(h)
	h = s.refuseCrossSite(h)
	h = s.recoverPanics(h)
	return s.logRequests(h)
}

// statusWriter records the status code and keeps streaming working
// (Unwrap lets http.ResponseController reach Flush).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for streaming endpoints.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer (for http.ResponseController).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *HTTPServer) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, st := newRequestState(r)
		sw := &st.sw
		sw.ResponseWriter, sw.status = w, http.StatusOK
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		s.metrics.observe(r.Method, st.routeLabel(), sw.status, d)
		s.logger.Debug("request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration", d, "remote", r.RemoteAddr)
	})
}

// routeLabels caches routeTemplateLabel by template.
var routeLabels sync.Map

var routeVarPattern = regexp.MustCompile(`\{(\w+):[^}]*\}`)

// routeTemplateLabel drops the patterns of a template's variables:
// "/v1/job/{id:.+}/allocations" is labelled "/v1/job/{id}/allocations".
// It is the label of the request's metrics (requestState.route): a route
// template, never an ID, so the label set stays small.
func routeTemplateLabel(t string) string {
	if l, ok := routeLabels.Load(t); ok {
		return l.(string)
	}
	l := routeVarPattern.ReplaceAllString(t, "{$1}")
	routeLabels.Store(t, l)
	return l
}

// recoverPanics turns a handler's panic into a 500 with a logged stack
// instead of a dropped connection.
func (s *HTTPServer) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, _ := w.(*statusWriter)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value, compared as net/http does
				panic(v)
			}
			s.logger.Error("panic in HTTP handler", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw != nil && sw.wrote {
				return // the reply has started; the client sees a truncated body
			}
			s.writeError(w, r, fmt.Errorf("internal error while serving %s %s: %v (this is a bug; the agent log has the stack)", r.Method, r.URL.Path, v))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies at MaxBodyBytes: a declared larger body is
// refused at once with 413; an undeclared one fails when read past the limit.
func (s *HTTPServer) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/v1/operator/snapshot" {
			// Snapshot archives grow with the cluster; the restore reads
			// them to a file, not into memory.
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeError(w, r, &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (s *HTTPServer) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.cfg.Auth.Authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if st := stateOf(r); st != nil {
			st.id = id
		} else {
			r = r.WithContext(withIdentity(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}
