package agent

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Search contexts, as Nomad names them (api/contexts).
const (
	ctxAll         = "all"
	ctxJobs        = "jobs"
	ctxEvals       = "evals"
	ctxAllocs      = "allocs"
	ctxNodes       = "nodes"
	ctxDeployments = "deployment"
	ctxNodePools   = "node_pools"
	ctxNamespaces  = "namespaces"
	ctxGroups      = "groups"
	ctxTasks       = "tasks"
	ctxServices    = "services"
	ctxCommands    = "commands"
	ctxImages      = "images"
)

// Contexts nomadlike has no objects of: searched, they match nothing.
var emptySearchContexts = []string{"plugins", "volumes", "scaling_policy", "vars", "quotas", "recommendations", "host_volumes"}

// Search limits, Nomad's defaults (search { limit_results, min_term_length }).
const (
	searchLimit         = 20
	fuzzyMinTermLength  = 2
	fuzzyResultsPerKind = 100
)

// searchRequest is the body of PUT /v1/search and /v1/search/fuzzy.
type searchRequest struct {
	Prefix  string
	Text    string
	Context string
}

// searchResponse is the reply of PUT /v1/search.
type searchResponse struct {
	Matches     map[string][]string
	Truncations map[string]bool
}

// fuzzyMatch is one fuzzy search result: the object and the IDs of its parents.
type fuzzyMatch struct {
	ID    string
	Scope []string `json:",omitempty"`
}

// fuzzySearchResponse is the reply of PUT /v1/search/fuzzy.
type fuzzySearchResponse struct {
	Matches     map[string][]fuzzyMatch
	Truncations map[string]bool
}

// searchTables are the tables whose index a search reports.
var searchTables = []string{"jobs", "evals", "allocs", "nodes", "deployment"}

// search is PUT /v1/search: IDs starting with a prefix, per context (the
// CLI's `nomad status <prefix>` and autocompletion). ACL: only the
// contexts the token may read (searchScope); a 403 when it may read none.
func (s *HTTPServer) search(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	contexts, err := prefixContexts(req.Context)
	if err != nil {
		return nil, err
	}
	scope := s.searchScope(r)
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		contexts, err := scope.allowed(s, r, ws, st, q.Namespace, contexts)
		if err != nil {
			return nil, 0, err
		}
		resp := &searchResponse{Matches: map[string][]string{}, Truncations: map[string]bool{}}
		for _, c := range contexts {
			ids, err := prefixIDs(ws, st, q.Namespace, scope.visible, c, req.Prefix)
			if err != nil {
				return nil, 0, err
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			resp.Truncations[c] = len(ids) > searchLimit
			if len(ids) > searchLimit {
				ids = ids[:searchLimit]
			}
			resp.Matches[c] = append([]string{}, ids...)
		}
		idx, err := tableIndex(st, searchTables...)
		return resp, idx, err
	})
}

func prefixContexts(c string) ([]string, error) {
	switch c {
	case ctxAll:
		return append([]string{ctxJobs, ctxEvals, ctxAllocs, ctxNodes, ctxDeployments, ctxNodePools, ctxNamespaces}, emptySearchContexts...), nil
	case ctxJobs, ctxEvals, ctxAllocs, ctxNodes, ctxDeployments, ctxNodePools, ctxNamespaces:
		return []string{c}, nil
	case "":
		return nil, structs.NewBadRequest("search needs a Context: one of jobs, evals, allocs, nodes, deployment, node_pools, namespaces or all")
	}
	if slices.Contains(emptySearchContexts, c) {
		return []string{c}, nil
	}
	return nil, structs.NewBadRequest("unknown search context %q: use jobs, evals, allocs, nodes, deployment, node_pools, namespaces or all", c)
}

// prefixIDs returns the IDs of context c that start with prefix, of the
// namespaces visible keeps.
func prefixIDs(ws watchSet, st *state.Snapshot, ns string, visible func(string) bool, c, prefix string) ([]string, error) {
	var ids []string
	switch c {
	case ctxJobs:
		jobs, err := st.JobsByIDPrefix(ws, ns, prefix)
		for _, j := range keepNamespaces(jobs, func(j *structs.Job) string { return j.Namespace }, visible) {
			ids = append(ids, j.ID)
		}
		return ids, err
	case ctxEvals:
		evals, err := st.EvalsByIDPrefix(ws, ns, prefix)
		for _, e := range keepNamespaces(evals, func(e *structs.Evaluation) string { return e.Namespace }, visible) {
			ids = append(ids, e.ID)
		}
		return ids, err
	case ctxAllocs:
		allocs, err := st.AllocsByIDPrefix(ws, ns, prefix)
		for _, a := range keepNamespaces(allocs, func(a *structs.Allocation) string { return a.Namespace }, visible) {
			ids = append(ids, a.ID)
		}
		return ids, err
	case ctxNodes:
		nodes, err := st.NodesByIDPrefix(ws, prefix)
		for _, n := range nodes {
			ids = append(ids, n.ID)
		}
		return ids, err
	case ctxDeployments:
		deps, err := st.DeploymentsByIDPrefix(ws, ns, prefix)
		for _, d := range keepNamespaces(deps, func(d *structs.Deployment) string { return d.Namespace }, visible) {
			ids = append(ids, d.ID)
		}
		return ids, err
	case ctxNodePools:
		pools, err := nodePoolNames(ws, st)
		for _, p := range pools {
			if strings.HasPrefix(p, prefix) {
				ids = append(ids, p)
			}
		}
		return ids, err
	case ctxNamespaces:
		names, err := namespaceNames(ws, st, visible)
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				ids = append(ids, n)
			}
		}
		return ids, err
	}
	return ids, nil
}

// namespaceNames are the names of the namespaces visible keeps.
func namespaceNames(ws watchSet, st *state.Snapshot, visible func(string) bool) ([]string, error) {
	all, err := st.Namespaces(ws)
	var names []string
	for _, n := range all {
		if visible(n.Name) {
			names = append(names, n.Name)
		}
	}
	return names, err
}

// nodePoolNames are the names of every node pool, built-in ones included.
func nodePoolNames(ws watchSet, st *state.Snapshot) ([]string, error) {
	pools, err := st.NodePools(ws)
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.Name
	}
	return names, err
}

// fuzzySearch is PUT /v1/search/fuzzy: objects whose name holds the text,
// case-insensitively, with the IDs of their parents (`nomad ui`, the web
// UI's search). ACL: as search.
func (s *HTTPServer) fuzzySearch(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if len(req.Text) < fuzzyMinTermLength {
		return nil, structs.NewBadRequest("fuzzy search query must be at least %d characters, got %d", fuzzyMinTermLength, len(req.Text))
	}
	switch req.Context {
	case ctxAll, ctxJobs, ctxNodes, ctxNodePools, ctxNamespaces, "plugins", "volumes":
	case ctxEvals, ctxAllocs, ctxDeployments:
		return nil, structs.NewBadRequest("context %q is not supported for fuzzy searching (its objects have only UUIDs): use the prefix search PUT /v1/search", req.Context)
	default:
		return nil, structs.NewBadRequest("unknown fuzzy search context %q: use jobs, nodes, node_pools, namespaces or all", req.Context)
	}
	contexts := []string{req.Context}
	if req.Context == ctxAll {
		contexts = []string{ctxJobs, ctxNodes, ctxNodePools, ctxNamespaces}
	}
	text := strings.ToLower(req.Text)
	scope := s.searchScope(r)
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		contexts, err := scope.allowed(s, r, ws, st, q.Namespace, contexts)
		if err != nil {
			return nil, 0, err
		}
		found := map[string][]fuzzyMatch{}
		add := func(kind, id string, scope ...string) {
			if id != "" && strings.Contains(strings.ToLower(id), text) {
				found[kind] = append(found[kind], fuzzyMatch{ID: id, Scope: scope})
			}
		}
		if slices.Contains(contexts, ctxJobs) {
			jobs, err := st.Jobs(ws, q.Namespace)
			if err != nil {
				return nil, 0, err
			}
			for _, j := range keepNamespaces(jobs, func(j *structs.Job) string { return j.Namespace }, scope.visible) {
				fuzzyJob(add, j)
			}
		}
		if slices.Contains(contexts, ctxNodes) {
			nodes, err := st.Nodes(ws)
			if err != nil {
				return nil, 0, err
			}
			for _, n := range nodes {
				add(ctxNodes, n.Name, n.ID)
			}
		}
		if slices.Contains(contexts, ctxNodePools) {
			pools, err := nodePoolNames(ws, st)
			if err != nil {
				return nil, 0, err
			}
			for _, p := range pools {
				add(ctxNodePools, p)
			}
		}
		if slices.Contains(contexts, ctxNamespaces) {
			names, err := namespaceNames(ws, st, scope.visible)
			if err != nil {
				return nil, 0, err
			}
			for _, n := range names {
				add(ctxNamespaces, n)
			}
		}
		resp := &fuzzySearchResponse{Matches: map[string][]fuzzyMatch{}, Truncations: map[string]bool{}}
		for kind, ms := range found {
			slices.SortFunc(ms, func(a, b fuzzyMatch) int {
				return cmp.Or(cmp.Compare(fuzzyScore(a.ID, text), fuzzyScore(b.ID, text)), cmp.Compare(a.ID, b.ID))
			})
			resp.Truncations[kind] = len(ms) > fuzzyResultsPerKind
			resp.Matches[kind] = ms[:min(len(ms), fuzzyResultsPerKind)]
		}
		idx, err := tableIndex(st, "jobs", "nodes")
		return resp, idx, err
	})
}

// fuzzyJob offers a job, its groups, tasks, services, commands and images.
func fuzzyJob(add func(kind, id string, scope ...string), j *structs.Job) {
	ns := j.Namespace
	add(ctxJobs, j.ID, ns, j.ID)
	for _, tg := range j.TaskGroups {
		add(ctxGroups, tg.Name, ns, j.ID)
		for _, svc := range tg.Services {
			add(ctxServices, svc.Name, ns, j.ID, tg.Name)
		}
		for _, t := range tg.Tasks {
			add(ctxTasks, t.Name, ns, j.ID, tg.Name)
			for _, svc := range t.Services {
				add(ctxServices, svc.Name, ns, j.ID, tg.Name, t.Name)
			}
			if c, ok := t.Config["command"].(string); ok {
				add(ctxCommands, c, ns, j.ID, tg.Name, t.Name)
			}
			if img, ok := t.Config["image"].(string); ok {
				add(ctxImages, img, ns, j.ID, tg.Name, t.Name)
			}
		}
	}
}

// fuzzyScore ranks a match: the whole name first, then a prefix, then the
// rest, as Nomad orders them.
func fuzzyScore(id, text string) int {
	l := strings.ToLower(id)
	switch {
	case l == text:
		return 0
	case strings.HasPrefix(l, text):
		return 1
	}
	return 2
}

// searchScope is what a search may show, as Nomad's: the objects of the
// namespaces where the token has read-job, and nodes and node pools with
// node:read.
type searchScope struct {
	visible func(ns string) bool
	nodes   bool
}

func (s *HTTPServer) searchScope(r *http.Request) searchScope {
	return searchScope{
		visible: s.nsFilter(r, capRead),
		nodes:   !s.aclEnabled() || identity(r).ACL.Allow(acl.Node, acl.PolicyRead),
	}
}

// allowed returns the contexts the token may search (in namespace ns, "*"
// for all), and a 403 when it may search none of them.
func (sc searchScope) allowed(s *HTTPServer, r *http.Request, ws watchSet, st *state.Snapshot, ns string, contexts []string) ([]string, error) {
	anyNS := ns != "*" && sc.visible(ns)
	if ns == "*" {
		names, err := namespaceNames(ws, st, sc.visible)
		if err != nil {
			return nil, err
		}
		anyNS = len(names) > 0
	}
	var out []string
	for _, c := range contexts {
		if c == ctxNodes || c == ctxNodePools {
			if sc.nodes {
				out = append(out, c)
			}
		} else if anyNS {
			out = append(out, c)
		}
	}
	if err := s.allow(r, len(out) > 0, fmt.Sprintf("%s in namespace %q, or node:read for nodes", capRead, ns)); err != nil {
		return nil, err
	}
	return out, nil
}
