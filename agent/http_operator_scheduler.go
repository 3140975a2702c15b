package agent

import (
	"context"
	"net/http"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// SchedulerConfigurer is the part of a server that stores the operator's
// scheduler configuration; *server.Server implements it. It is an optional
// capability of ServerAPI, found by type assertion, called concurrently
// from request goroutines.
type SchedulerConfigurer interface {
	SetSchedulerConfig(ctx context.Context, config *structs.SchedulerConfig, cas bool, casIndex uint64) (*structs.SchedulerSetConfigResponse, error)
}

// operatorSchedulerGet is GET /v1/operator/scheduler/configuration:
// {SchedulerConfig, Index}, the defaults when none was set. It blocks on ?index.
func (s *HTTPServer) operatorSchedulerGet(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		idx, c, err := st.WatchSchedulerConfig(ws)
		if err != nil {
			return nil, 0, err
		}
		if c == nil {
			c = structs.DefaultSchedulerConfig()
		}
		idx = max(idx, 1)
		return &structs.SchedulerConfigResponse{SchedulerConfig: c, Index: idx}, idx, nil
	})
}

// operatorSchedulerPut is PUT /v1/operator/scheduler/configuration with a
// SchedulerConfiguration body and an optional ?cas=<ModifyIndex>.
func (s *HTTPServer) operatorSchedulerPut(w http.ResponseWriter, r *http.Request) (any, error) {
	sc, ok := s.srv.(SchedulerConfigurer)
	if !ok {
		return nil, notSupported("the scheduler configuration")
	}
	var cas bool
	var casIndex uint64
	if v := r.URL.Query().Get("cas"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, structs.NewBadRequest("cas=%q must be the configuration's ModifyIndex (a whole number)", v)
		}
		cas, casIndex = true, n
	}
	var config structs.SchedulerConfig
	if err := decodeBody(r, &config); err != nil {
		return nil, err
	}
	resp, err := sc.SetSchedulerConfig(r.Context(), &config, cas, casIndex)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
