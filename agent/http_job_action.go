package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobAction is GET /v1/job/{id}/action?action=&allocID=&group=&task=&tty=
// (Nomad's): it runs the task's named action block in the allocation over
// the exec websocket, as GET /v1/client/allocation/{allocID}/exec does with
// the action's command.
func (s *HTTPServer) jobAction(w http.ResponseWriter, r *http.Request) {
	jobID := mux.Vars(r)["id"]
	q := r.URL.Query()
	name, allocID, task := q.Get("action"), q.Get("allocID"), q.Get("task")
	if name == "" || allocID == "" || task == "" {
		s.writeError(w, r, structs.NewBadRequest("action=, allocID= and task= are required: the action's name, the allocation and the task it is defined in"))
		return
	}
	alloc, err := s.lookupAlloc(allocID)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("look up allocation %q: %w", allocID, err))
		return
	}
	if alloc == nil || alloc.JobID != jobID || alloc.Job == nil {
		s.writeError(w, r, structs.NewNotFound("allocation %q of job %q not found (IDs are full UUIDs; list them with GET /v1/job/%s/allocations)", allocID, jobID, url.PathEscape(jobID)))
		return
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	var t *structs.Task
	if tg != nil {
		t = tg.LookupTask(task)
	}
	if t == nil {
		s.writeError(w, r, structs.NewBadRequest("task %q is not a task of allocation %s (group %q)", task, structs.ShortID(allocID), alloc.TaskGroup))
		return
	}
	act := t.LookupAction(name)
	if act == nil {
		var names []string
		for _, a := range t.Actions {
			names = append(names, a.Name)
		}
		s.writeError(w, r, structs.NewBadRequest("task %q of job %q has no action %q; its actions: [%s]", task, jobID, name, strings.Join(names, ", ")))
		return
	}
	cmd, err := json.Marshal(append([]string{act.Command}, act.Args...))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The same request as an alloc exec: routed to the allocation's node
	// (proxied when it is another agent's) and run by the exec handler.
	exec := r.Clone(r.Context())
	eq := url.Values{}
	for k, v := range q {
		switch k {
		case "action", "allocID", "group", "command":
		default:
			eq[k] = v
		}
	}
	eq.Set("command", string(cmd))
	exec.URL.Path = "/v1/client/allocation/" + url.PathEscape(allocID) + "/exec"
	exec.URL.RawPath = ""
	exec.URL.RawQuery = eq.Encode()
	exec = mux.SetURLVars(exec, map[string]string{"id": allocID})
	s.clientAllocExec(w, exec)
}
