package agent

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobSubmission is GET /v1/job/{id}/submission?version=N: the source a job
// version was submitted with (`job inspect -hcl`). Without version, the
// current one. ACL: namespace read-job.
func (s *HTTPServer) jobSubmission(w http.ResponseWriter, r *http.Request) (any, error) {
	var version *uint64
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, structs.NewBadRequest("version=%q must be a job version number (GET /v1/job/:id/versions lists them)", v)
		}
		version = &n
	}
	id := mux.Vars(r)["id"]
	return s.jobRead(w, r, []string{"job_submission", "jobs"}, func(ws watchSet, st *state.Snapshot, ns, _ string) (any, error) {
		v := version
		if v == nil {
			j, err := st.JobByID(ws, ns, id)
			if j == nil || err != nil {
				return nil, err
			}
			v = &j.Version
		}
		sub, err := st.JobSubmission(ws, ns, id, *v)
		if err != nil {
			return nil, err
		}
		if sub == nil {
			return nil, structs.NewNotFound("job source not found: version %d of job %q was submitted without its source (e.g. as JSON through the API without a Submission)", *v, id)
		}
		return sub, nil
	})
}
