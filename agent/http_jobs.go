package agent

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (s *HTTPServer) jobsList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	visible := s.nsFilter(r, capList)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		var jobs []*structs.Job
		if q.Prefix != "" {
			jobs, err = st.JobsByIDPrefix(ws, q.Namespace, q.Prefix)
		} else {
			jobs, err = st.Jobs(ws, q.Namespace)
		}
		if err != nil {
			return nil, 0, err
		}
		jobs = keepNamespaces(jobs, func(j *structs.Job) string { return j.Namespace }, visible)
		stubs := make([]*structs.JobListStub, 0, len(jobs))
		for _, j := range jobs {
			sum, err := st.JobSummaryByID(ws, j.Namespace, j.ID)
			if err != nil {
				return nil, 0, err
			}
			stubs = append(stubs, j.Stub(sum))
		}
		idx, err := tableIndex(st, "jobs", "job_summary")
		return stubs, idx, err
	})
	if err != nil {
		return nil, err
	}
	stubs := out.([]*structs.JobListStub)
	key := func(j *structs.JobListStub) string { return nsKey(j.Namespace, j.ID) }
	sortByKey(stubs, key)
	return paginate(w, q, stubs, key)
}

func (s *HTTPServer) jobsRegister(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.registerJob(w, r, "")
}

// jobUpdate is PUT /v1/job/{id}: a register whose job ID must match the path.
func (s *HTTPServer) jobUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.registerJob(w, r, mux.Vars(r)["id"])
}

func (s *HTTPServer) registerJob(w http.ResponseWriter, r *http.Request, pathID string) (any, error) {
	var req structs.JobRegisterRequest
	if err := decodeJobBody(r, &req); err != nil {
		return nil, err
	}
	if req.Job == nil {
		return nil, structs.NewBadRequest("request body has no Job: send {\"Job\": {...}} (the JSON form of a job, e.g. from PUT /v1/jobs/parse)")
	}
	if pathID != "" && req.Job.ID != pathID {
		return nil, structs.NewBadRequest("job ID %q in the body does not match %q in the URL", req.Job.ID, pathID)
	}
	if err := s.applyNamespace(r, req.Job); err != nil {
		return nil, err
	}
	if err := s.allowNS(r, req.Job.Namespace, capSubmit); err != nil {
		return nil, err
	}
	var resp *structs.JobRegisterResponse
	var err error
	if o, ok := s.srv.(ownedRegistrar); ok {
		// req was decoded for this call and is not read again.
		resp, err = o.RegisterJobOwned(r.Context(), &req)
	} else {
		resp, err = s.srv.RegisterJob(r.Context(), &req)
	}
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// ownedRegistrar is the server's RegisterJob for a request the caller
// hands over (*server.Server): the job is not copied.
type ownedRegistrar interface {
	RegisterJobOwned(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error)
}

// applyNamespace fills a job's namespace from ?namespace= when the job has none.
func (s *HTTPServer) applyNamespace(r *http.Request, job *structs.Job) error {
	ns := ""
	if r.URL.RawQuery != "" { // parsing an empty query makes a map all the same
		ns = r.URL.Query().Get("namespace")
	}
	switch {
	case ns == "*":
		return structs.NewBadRequest("namespace \"*\" selects all namespaces and cannot receive a job; name one namespace")
	case job.Namespace == "" && ns != "":
		job.Namespace = ns
	case job.Namespace != "" && ns != "" && ns != job.Namespace:
		return structs.NewBadRequest("job namespace %q does not match namespace=%q in the URL", job.Namespace, ns)
	}
	if job.Namespace == "" {
		job.Namespace = structs.DefaultNamespace
	}
	return nil
}

func (s *HTTPServer) jobValidate(_ http.ResponseWriter, r *http.Request) (any, error) {
	var req struct{ Job *structs.Job }
	if err := decodeJobBody(r, &req); err != nil {
		return nil, err
	}
	if req.Job == nil {
		return nil, structs.NewBadRequest("request body has no Job: send {\"Job\": {...}}")
	}
	req.Job.Canonicalize()
	// The driver's config is checked as registration checks it; drivers
	// nomadlike lacks are warnings, as in Nomad.
	resp := &structs.JobValidateResponse{DriverConfigValidated: true}
	if ws := server.JobWarnings(req.Job); len(ws) > 0 {
		resp.Warnings = strings.Join(ws, "\n")
	}
	if err := server.ValidateJob(req.Job); err != nil {
		resp.Error = err.Error()
		var ve *structs.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				resp.ValidationErrors = append(resp.ValidationErrors, p.String())
			}
		} else {
			resp.ValidationErrors = []string{err.Error()}
		}
	}
	return resp, nil
}

// singleNamespace returns the namespace of a read of one object by ID.
func singleNamespace(q *queryOpts) (string, error) {
	if q.allNamespaces() {
		return "", structs.NewBadRequest("namespace \"*\" selects all namespaces; name the job's namespace to read one job")
	}
	return q.Namespace, nil
}

// jobRead runs a blocking read of one job's data; read returns nil when the
// job is unknown, which becomes a 404 naming the job.
func (s *HTTPServer) jobRead(w http.ResponseWriter, r *http.Request, tables []string,
	read func(ws watchSet, st *state.Snapshot, ns, id string) (any, error)) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	ns, err := singleNamespace(q)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		v, err := read(ws, st, ns, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, tables...)
		return v, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("job %q not found in namespace %q (list jobs with GET /v1/jobs?namespace=*)", id, ns)
	}
	return out, nil
}

func (s *HTTPServer) jobInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.jobRead(w, r, []string{"jobs"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		j, err := st.JobByID(ws, ns, id)
		if j == nil || err != nil {
			return nil, err
		}
		return j, nil
	})
}

func (s *HTTPServer) jobSummary(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.jobRead(w, r, []string{"job_summary"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		sum, err := st.JobSummaryByID(ws, ns, id)
		if sum == nil || err != nil {
			return nil, err
		}
		return sum, nil
	})
}

func (s *HTTPServer) jobAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	all, err := boolParam(r, "all")
	if err != nil {
		return nil, err
	}
	return s.jobRead(w, r, []string{"allocs", "jobs"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		// An unknown job has no allocations: 200 with [], as Nomad answers.
		allocs, err := st.AllocsByJob(ws, ns, id, all)
		if err != nil {
			return nil, err
		}
		stubs := make([]*structs.AllocListStub, len(allocs))
		for i, a := range allocs {
			stubs[i] = a.Stub()
		}
		return stubs, nil
	})
}

func (s *HTTPServer) jobEvaluations(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.jobRead(w, r, []string{"evals", "jobs"}, func(ws watchSet, st *state.Snapshot, ns, id string) (any, error) {
		// An unknown job has no evaluations: 200 with [], as Nomad answers.
		evals, err := st.EvalsByJob(ws, ns, id)
		if err != nil {
			return nil, err
		}
		if evals == nil {
			evals = []*structs.Evaluation{}
		}
		return evals, nil
	})
}

func (s *HTTPServer) jobDeregister(w http.ResponseWriter, r *http.Request) (any, error) {
	purge, err := boolParam(r, "purge")
	if err != nil {
		return nil, err
	}
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	if ns == "*" {
		return nil, structs.NewBadRequest("namespace \"*\" selects all namespaces; name the job's namespace to stop it")
	}
	opts := structs.JobDeregisterOptions{Purge: purge}
	if p := r.URL.Query().Get("eval_priority"); p != "" {
		// 0 is unset (the official client always sends the parameter).
		if opts.EvalPriority, err = strconv.Atoi(p); err != nil || opts.EvalPriority < 0 || opts.EvalPriority > 100 {
			return nil, structs.NewBadRequest("eval_priority=%q must be a number between 1 and 100 (0: the job's priority)", p)
		}
	}
	// global (every region of a multiregion job) is this region here.
	if _, err := boolParam(r, "global"); err != nil {
		return nil, err
	}
	if opts.NoShutdownDelay, err = boolParam(r, "no_shutdown_delay"); err != nil {
		return nil, err
	}
	var resp *structs.JobDeregisterResponse
	if d, ok := s.srv.(jobDeregisterer); ok {
		resp, err = d.DeregisterJobOpts(r.Context(), ns, mux.Vars(r)["id"], opts)
	} else if opts.EvalPriority != 0 {
		return nil, notSupported("eval_priority")
	} else {
		resp, err = s.srv.DeregisterJob(r.Context(), ns, mux.Vars(r)["id"], purge)
	}
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// jobDeregisterer is a server that deregisters jobs with Nomad's options;
// *server.Server implements it (an optional capability of ServerAPI).
type jobDeregisterer interface {
	DeregisterJobOpts(ctx context.Context, namespace, jobID string, opts structs.JobDeregisterOptions) (*structs.JobDeregisterResponse, error)
}
