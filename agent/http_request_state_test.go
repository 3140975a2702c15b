package agent

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestDispatchAsMuxRouter: the API's dispatch, which replaced gorilla/mux's
// Router.ServeHTTP, answers as that did: an unclean path is redirected to
// its clean form with its query, an unknown path is a 404 and a wrong
// method a 405 (both labelled "unmatched" in the metrics), a matched
// route is labelled with its template, and path variables reach the
// handler unescaped.
func TestDispatchAsMuxRouter(t *testing.T) {
	fake := newFakeServer(t)
	reg := prometheus.NewRegistry()
	h := NewHTTPServer(HTTPConfig{Server: fake, Logger: slog.New(slog.DiscardHandler), Metrics: reg}).Handler()
	do := func(method, target string) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec
	}
	if rec := do(http.MethodGet, "/v1//jobs/?prefix=a"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/v1/jobs/?prefix=a" {
		t.Errorf("GET /v1//jobs/?prefix=a: %d Location %q, want 301 to /v1/jobs/?prefix=a", rec.Code, rec.Header().Get("Location"))
	}
	if rec := do(http.MethodGet, "/v1/nothing-here"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /v1/nothing-here: %d, want 404", rec.Code)
	}
	if rec := do(http.MethodPost, "/v1/status/leader"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/status/leader: %d, want 405", rec.Code)
	}
	if rec := do(http.MethodGet, "/v1/jobs"); rec.Code != http.StatusOK {
		t.Errorf("GET /v1/jobs: %d %s", rec.Code, rec.Body)
	}
	// A job ID with an escaped "/" is one variable, unescaped for the handler.
	rec := do(http.MethodGet, "/v1/job/parent%2Fperiodic-1")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `parent/periodic-1`) {
		t.Errorf("GET /v1/job/parent%%2Fperiodic-1: %d %s, want a 404 naming parent/periodic-1", rec.Code, rec.Body)
	}
	prom := do(http.MethodGet, "/v1/metrics?format=prometheus").Body.String()
	for _, want := range []string{
		`nomadlike_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`nomadlike_http_requests_total{code="405",method="POST",route="unmatched"} 1`,
		`nomadlike_http_requests_total{code="200",method="GET",route="/v1/jobs"} 1`,
		`nomadlike_http_requests_total{code="404",method="GET",route="/v1/job/{id}"} 1`,
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// ownedServer records whether a registration was handed over.
type ownedServer struct {
	*fakeServer
	owned, copied int
}

func (o *ownedServer) RegisterJob(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	o.copied++
	return o.fakeServer.RegisterJob(ctx, req)
}

func (o *ownedServer) RegisterJobOwned(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	o.owned++
	return o.fakeServer.RegisterJob(ctx, req)
}

// TestRegisterHandsTheDecodedJobOver: PUT /v1/jobs and PUT /v1/job/{id}
// hand the job they decoded to a server that takes it over
// (RegisterJobOwned), which then need not copy it.
func TestRegisterHandsTheDecodedJobOver(t *testing.T) {
	srv := &ownedServer{fakeServer: newFakeServer(t)}
	h := NewHTTPServer(HTTPConfig{Server: srv, Logger: slog.New(slog.DiscardHandler)}).Handler()
	for _, target := range []string{"/v1/jobs", "/v1/job/web"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, target, strings.NewReader(mustJSON(t, &structs.JobRegisterRequest{Job: testJob("web")}))))
		if rec.Code != http.StatusOK {
			t.Fatalf("PUT %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	if srv.owned != 2 || srv.copied != 0 {
		t.Errorf("registrations handed over %d, passed to RegisterJob %d; want 2 and 0", srv.owned, srv.copied)
	}
}

// TestExactRoutesMatchAsTheRouter: for every path of a route without
// variables, and every method, dispatch's shortcut (exactRoutes) matches
// what the router's walk over all routes matches: the same route, the same
// error (405 or 404) and a handler the same way.
func TestExactRoutesMatchAsTheRouter(t *testing.T) {
	s := NewHTTPServer(HTTPConfig{Server: newFakeServer(t), Logger: slog.New(slog.DiscardHandler)})
	if len(s.exactRoutes) < 20 {
		t.Fatalf("only %d exact paths in the table", len(s.exactRoutes))
	}
	if n := len(s.exactRoutes["/v1/jobs"]); n != 2 {
		t.Errorf("PUT /v1/jobs is tried against %d routes, want its 2 (GET and PUT)", n)
	}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead, http.MethodOptions, http.MethodPatch}
	for p := range s.exactRoutes {
		for _, m := range methods {
			r := httptest.NewRequest(m, p, nil)
			var want, got mux.RouteMatch
			wok := s.router.Match(r, &want)
			gok := s.matchRoute(r, &got)
			if wok != gok || want.Route != got.Route || want.MatchErr != got.MatchErr || (want.Handler == nil) != (got.Handler == nil) || len(want.Vars) != len(got.Vars) { //nolint:errorlint // mux's sentinels, compared as mux does
				t.Errorf("%s %s: router %v route %p err %v; shortcut %v route %p err %v", m, p, wok, want.Route, want.MatchErr, gok, got.Route, got.MatchErr)
			}
		}
	}
}
