package agent

import (
	"cmp"
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
// CLI's `nomad status <prefix>` and autocompletion). ACL: the read
// capability of each context searched (namespace read-job, node read).
func (s *HTTPServer) search(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	var req searchRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := s.allowSearch(r, q.Namespace, req.Context); err != nil {
		return nil, err
	}
	contexts, err := prefixContexts(req.Context)
	if err != nil {
		return nil, err
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		resp := &searchResponse{Matches: map[string][]string{}, Truncations: map[string]bool{}}
		for _, c := range contexts {
			ids, err := prefixIDs(ws, st, q, c, req.Prefix)
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

// prefixIDs returns the IDs of context c that start with prefix.
func prefixIDs(ws watchSet, st *state.Snapshot, q *queryOpts, c, prefix string) ([]string, error) {
	ns := q.Namespace
	var ids []string
	switch c {
	case ctxJobs:
		jobs, err := st.JobsByIDPrefix(ws, ns, prefix)
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		return ids, err
	case ctxEvals:
		evals, err := st.EvalsByIDPrefix(ws, ns, prefix)
		for _, e := range evals {
			ids = append(ids, e.ID)
		}
		return ids, err
	case ctxAllocs:
		allocs, err := st.AllocsByIDPrefix(ws, ns, prefix)
		for _, a := range allocs {
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
		for _, d := range deps {
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
		if strings.HasPrefix(structs.DefaultNamespace, prefix) {
			ids = append(ids, structs.DefaultNamespace)
		}
	}
	return ids, nil
}

// nodePoolNames are the built-in node pools and those nodes name.
func nodePoolNames(ws watchSet, st *state.Snapshot) ([]string, error) {
	names := []string{"all", structs.DefaultNodePool}
	nodes, err := st.Nodes(ws)
	for _, n := range nodes {
		if n.NodePool != "" {
			names = append(names, n.NodePool)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), err
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
	if err := s.allowSearch(r, q.Namespace, req.Context); err != nil {
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
	text := strings.ToLower(req.Text)
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		found := map[string][]fuzzyMatch{}
		add := func(kind, id string, scope ...string) {
			if id != "" && strings.Contains(strings.ToLower(id), text) {
				found[kind] = append(found[kind], fuzzyMatch{ID: id, Scope: scope})
			}
		}
		all := req.Context == ctxAll
		if all || req.Context == ctxJobs {
			jobs, err := st.Jobs(ws, q.Namespace)
			if err != nil {
				return nil, 0, err
			}
			for _, j := range jobs {
				fuzzyJob(add, j)
			}
		}
		if all || req.Context == ctxNodes {
			nodes, err := st.Nodes(ws)
			if err != nil {
				return nil, 0, err
			}
			for _, n := range nodes {
				add(ctxNodes, n.Name, n.ID)
			}
		}
		if all || req.Context == ctxNodePools {
			pools, err := nodePoolNames(ws, st)
			if err != nil {
				return nil, 0, err
			}
			for _, p := range pools {
				add(ctxNodePools, p)
			}
		}
		if all || req.Context == ctxNamespaces {
			add(ctxNamespaces, structs.DefaultNamespace)
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

// allowSearch is the ACL check of both searches: read-job in the namespace
// (management for namespace=*), and node:read when nodes or node pools are
// searched.
func (s *HTTPServer) allowSearch(r *http.Request, namespace, context string) error {
	a := identity(r).ACL
	if namespace == "*" {
		return s.allow(r, a.IsManagement(), "management (a search across all namespaces)")
	}
	if err := s.allowNS(r, namespace, capRead); err != nil {
		return err
	}
	if context == ctxAll || context == ctxNodes || context == ctxNodePools {
		return s.allow(r, a.Allow(acl.Node, acl.PolicyRead), "node:read (searching nodes)")
	}
	return nil
}
