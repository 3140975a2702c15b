package agent

import (
	"context"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// requestState is what the middleware chain learns about a request, kept
// in one context value for the whole request: logRequests makes it, the
// router records the matched route in it, authenticate the identity,
// authorize the handler's permission check, admission the wait notice and
// the server's Forward the write's request ID (server.RequestState). Each
// of these was a context value of its own, and a copy of the request
// (http.Request.WithContext copies all of it): eight per registration.
// It is used by the request's goroutine only.
type requestState struct {
	server server.RequestState
	// sw is the reply's status, for the log and the metrics.
	sw statusWriter
	// route is the matched route's metrics label ("" for none): its
	// template with the variables' patterns dropped.
	route string
	// id is the request's identity, set by authenticate.
	id *Identity
	// authz is the permission check of a route whose handler decides,
	// when hasAuthz (authorize).
	authz    authzState
	hasAuthz bool
}

type requestStateKey struct{}

// newRequestState returns r with a new requestState in its context.
func newRequestState(r *http.Request) (*http.Request, *requestState) {
	st := &requestState{}
	ctx := context.WithValue(server.WithRequestState(r.Context(), &st.server), requestStateKey{}, st)
	return r.WithContext(ctx), st
}

// stateOf returns r's requestState, or nil when r did not come through
// the middleware chain.
func stateOf(r *http.Request) *requestState {
	st, _ := r.Context().Value(requestStateKey{}).(*requestState)
	return st
}

// routeLabel is the metrics label of the matched route.
func (st *requestState) routeLabel() string {
	if st.route == "" {
		return "unmatched"
	}
	return st.route
}

// dispatch routes a request: gorilla/mux's Router.ServeHTTP (v1.8.1),
// which it replaces, without that one's two copies of the request (one to
// carry the path variables, one the matched route). The route's label
// goes to the request's state; the variables are set only for a route
// that has any (mux.Vars returns nil without).
func (s *HTTPServer) dispatch(w http.ResponseWriter, r *http.Request) {
	// The router matches on the escaped path (UseEncodedPath): clean it,
	// redirecting to the canonical form, as mux does.
	if p := r.URL.EscapedPath(); cleanPath(p) != p {
		u := *r.URL
		u.Path = cleanPath(p)
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	st := stateOf(r)
	if st == nil {
		r, st = newRequestState(r)
	}
	var match mux.RouteMatch
	var h http.Handler
	if s.matchRoute(r, &match) {
		h = match.Handler
		if len(match.Vars) > 0 {
			r = mux.SetURLVars(r, match.Vars)
		}
		// A route that matched runs the router's middleware; a 404 or
		// 405 is "unmatched".
		if match.MatchErr == nil && match.Route != nil {
			if t, err := match.Route.GetPathTemplate(); err == nil {
				st.route = routeTemplateLabel(t)
			}
		}
	}
	if h == nil {
		h = http.NotFoundHandler()
	}
	h.ServeHTTP(w, r)
}

// cleanPath is gorilla/mux's: p made canonical, its trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// matchRoute is s.router.Match. For a path that is exactly the path of a
// route without variables it tries only the routes whose pattern matches
// that path (exactRoutes), in the router's order, instead of every route
// before the one that matches (a regexp each: PUT /v1/jobs came after
// nine). The others cannot match it, and skipping them changes nothing
// mux records (TestExactRoutesMatchAsTheRouter).
func (s *HTTPServer) matchRoute(r *http.Request, match *mux.RouteMatch) bool {
	routes, ok := s.exactRoutes[r.URL.EscapedPath()]
	if !ok {
		return s.router.Match(r, match)
	}
	for _, route := range routes {
		if route.Match(r, match) {
			if match.MatchErr == nil {
				for i := len(s.routerMiddleware) - 1; i >= 0; i-- {
					match.Handler = s.routerMiddleware[i].Middleware(match.Handler)
				}
			}
			return true
		}
	}
	// As mux.Router.Match ends.
	if match.MatchErr == mux.ErrMethodMismatch { //nolint:errorlint // mux compares its sentinels
		if s.router.MethodNotAllowedHandler != nil {
			match.Handler = s.router.MethodNotAllowedHandler
			return true
		}
		return false
	}
	if s.router.NotFoundHandler != nil {
		match.Handler = s.router.NotFoundHandler
		match.MatchErr = mux.ErrNotFound
		return true
	}
	match.MatchErr = mux.ErrNotFound
	return false
}

// exactRouteTable maps the path of each route of r without variables to
// the routes, in r's order, whose path pattern matches that path (a route
// without a path pattern is kept: it might match anything).
func exactRouteTable(r *mux.Router) map[string][]*mux.Route {
	var all []*mux.Route
	var patterns []*regexp.Regexp // nil: none
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		all = append(all, route)
		var re *regexp.Regexp
		if s, err := route.GetPathRegexp(); err == nil {
			re = regexp.MustCompile(s)
		}
		patterns = append(patterns, re)
		return nil
	})
	table := map[string][]*mux.Route{}
	for _, route := range all {
		p, err := route.GetPathTemplate()
		if err != nil || strings.Contains(p, "{") {
			continue
		}
		if _, done := table[p]; done {
			continue
		}
		var rs []*mux.Route
		for i, other := range all {
			if patterns[i] == nil || patterns[i].MatchString(p) {
				rs = append(rs, other)
			}
		}
		table[p] = rs
	}
	return table
}
