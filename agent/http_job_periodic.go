package agent

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// PeriodicForcer is the part of a server that force-launches periodic
// jobs; *server.Server implements it. It is an optional capability of
// ServerAPI, found by type assertion.
type PeriodicForcer interface {
	ForcePeriodicJob(ctx context.Context, namespace, jobID string) (*structs.PeriodicForceResponse, error)
}

// writeNamespace returns the single namespace a write to one job names
// with ?namespace= (default "default").
func writeNamespace(r *http.Request, what string) (string, error) {
	ns := r.URL.Query().Get("namespace")
	switch ns {
	case "":
		return structs.DefaultNamespace, nil
	case "*":
		return "", structs.NewBadRequest("namespace \"*\" selects all namespaces; name the job's namespace to %s", what)
	}
	return ns, nil
}

// jobPeriodicForce is PUT/POST /v1/job/{id}/periodic/force: launch a child
// of a periodic job now.
func (s *HTTPServer) jobPeriodicForce(w http.ResponseWriter, r *http.Request) (any, error) {
	p, ok := s.srv.(PeriodicForcer)
	if !ok {
		return nil, notSupported("periodic jobs")
	}
	ns, err := writeNamespace(r, "force a launch")
	if err != nil {
		return nil, err
	}
	resp, err := p.ForcePeriodicJob(r.Context(), ns, mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// unescapeVars replaces the router's path variables, matched on the escaped
// path, with their unescaped values (a job ID "a%2Fb" becomes "a/b").
func unescapeVars(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars := mux.Vars(r)
		changed := false
		for k, v := range vars {
			if !strings.Contains(v, "%") {
				continue
			}
			if u, err := url.PathUnescape(v); err == nil {
				if !changed {
					vars = maps.Clone(vars)
					changed = true
				}
				vars[k] = u
			}
		}
		if changed {
			r = mux.SetURLVars(r, vars)
		}
		next.ServeHTTP(w, r)
	})
}
