package taskenv

import (
	"maps"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Input is what a task's environment is built from.
type Input struct {
	Node  *structs.Node
	Alloc *structs.Allocation
	Task  *structs.Task
	// AllocDir is the allocation's directory; TaskDir the task's (AllocDir/<task>).
	AllocDir string
	TaskDir  string
	// Region is the node's region, used when the job names none.
	Region string
}

// Env is a task's built environment plus the node values that ${...} may
// reference. It is immutable once built.
type Env struct {
	vars map[string]string
	node map[string]string // "node.unique.id", "attr.X", "meta.X", ...
}

// Build returns the task's environment. The task's own env values are
// interpolated against the NOMAD_* variables and the node.
func Build(in Input) *Env {
	e := &Env{vars: map[string]string{}, node: map[string]string{}}
	a, t, n := in.Alloc, in.Task, in.Node
	job := a.Job
	set := func(k, v string) { e.vars[k] = v }

	set("NOMAD_ALLOC_ID", a.ID)
	set("NOMAD_SHORT_ALLOC_ID", structs.ShortID(a.ID))
	set("NOMAD_ALLOC_NAME", a.Name)
	set("NOMAD_ALLOC_INDEX", strconv.Itoa(a.Index()))
	set("NOMAD_ALLOC_DIR", filepath.Join(in.AllocDir, "alloc"))
	set("NOMAD_TASK_DIR", filepath.Join(in.TaskDir, "local"))
	set("NOMAD_SECRETS_DIR", filepath.Join(in.TaskDir, "secrets"))
	set("NOMAD_TASK_NAME", t.Name)
	set("NOMAD_GROUP_NAME", a.TaskGroup)
	set("NOMAD_NAMESPACE", a.Namespace)
	region := in.Region
	if job != nil {
		set("NOMAD_JOB_ID", job.ID)
		set("NOMAD_JOB_NAME", job.Name)
		if job.ParentID != "" {
			set("NOMAD_JOB_PARENT_ID", job.ParentID)
		}
		if job.Namespace != "" {
			set("NOMAD_NAMESPACE", job.Namespace)
		}
		if job.Region != "" {
			region = job.Region
		}
	}
	set("NOMAD_REGION", region)
	if n != nil {
		set("NOMAD_DC", n.Datacenter)
	}

	cpu, mem, memMax := limits(a, t)
	set("NOMAD_CPU_LIMIT", strconv.FormatInt(cpu, 10))
	set("NOMAD_MEMORY_LIMIT", strconv.FormatInt(mem, 10))
	if memMax > 0 {
		set("NOMAD_MEMORY_MAX_LIMIT", strconv.FormatInt(memMax, 10))
	}
	if a.AllocatedResources != nil {
		for _, p := range a.AllocatedResources.Shared.Ports {
			addPort(e.vars, p)
			addAllocPort(e.vars, p, a.NetworkStatus)
		}
	}

	meta := mergedMeta(a, t)
	for k, v := range meta {
		set("NOMAD_META_"+cleanKey(k), v)
		set("NOMAD_META_"+strings.ToUpper(cleanKey(k)), v)
	}

	if n != nil {
		e.node["node.unique.id"] = n.ID
		e.node["node.unique.name"] = n.Name
		e.node["node.datacenter"] = n.Datacenter
		e.node["node.class"] = n.NodeClass
		e.node["node.pool"] = n.NodePool
		e.node["node.region"] = in.Region
		for k, v := range n.Attributes {
			e.node["attr."+k] = v
		}
		for k, v := range n.Meta {
			e.node["meta."+k] = v
		}
	}
	// Task-level meta wins over node meta for ${meta.X}, as in Nomad.
	for k, v := range meta {
		e.node["meta."+k] = v
	}

	// The task's env: interpolated against the NOMAD_* variables built so
	// far and the node; it may override none of the NOMAD_ variables above.
	taskEnv := map[string]string{}
	for k, v := range t.Env {
		taskEnv[k] = e.Replace(v)
	}
	for k, v := range taskEnv {
		if _, reserved := e.vars[k]; !reserved {
			e.vars[k] = v
		}
	}
	return e
}

// limits returns the task's CPU (MHz) and memory (MB) limits: the scheduler's
// allocation when present, else the task's ask.
func limits(a *structs.Allocation, t *structs.Task) (cpu, mem, memMax int64) {
	if a.AllocatedResources != nil {
		if tr, ok := a.AllocatedResources.Tasks[t.Name]; ok && tr != nil {
			return tr.Cpu.CpuShares, tr.Memory.MemoryMB, tr.Memory.MemoryMaxMB
		}
	}
	if t.Resources != nil {
		return int64(t.Resources.CPU), int64(t.Resources.MemoryMB), int64(t.Resources.MemoryMaxMB)
	}
	return 0, 0, 0
}

func addPort(vars map[string]string, p structs.PortMapping) {
	label := cleanKey(p.Label)
	inTask := p.Value
	if p.To > 0 {
		inTask = p.To
	}
	ip := p.HostIP
	host := strconv.Itoa(p.Value)
	vars["NOMAD_PORT_"+label] = strconv.Itoa(inTask)
	vars["NOMAD_ALLOC_PORT_"+label] = strconv.Itoa(inTask)
	vars["NOMAD_HOST_PORT_"+label] = host
	vars["NOMAD_IP_"+label] = ip
	vars["NOMAD_HOST_IP_"+label] = ip
	vars["NOMAD_ADDR_"+label] = net.JoinHostPort(ip, host)
	vars["NOMAD_HOST_ADDR_"+label] = net.JoinHostPort(ip, host)
	if p.Count > 0 {
		// A range (count): the variables above name its first port.
		vars["NOMAD_PORT_"+label+"_COUNT"] = strconv.Itoa(p.Count)
		vars["NOMAD_PORT_"+label+"_RANGE"] = p.InTaskRange()
		vars["NOMAD_HOST_PORT_"+label+"_RANGE"] = p.HostRange()
	}
}

// addAllocPort sets the variables of a port inside the allocation's own
// network (bridge or cni/<name> mode): its address there and interface.
func addAllocPort(vars map[string]string, p structs.PortMapping, st *structs.AllocNetworkStatus) {
	if st == nil || st.Address == "" {
		return
	}
	label := cleanKey(p.Label)
	inTask := p.Value
	if p.To > 0 {
		inTask = p.To
	}
	vars["NOMAD_ALLOC_INTERFACE_"+label] = st.InterfaceName
	vars["NOMAD_ALLOC_IP_"+label] = st.Address
	vars["NOMAD_ALLOC_ADDR_"+label] = net.JoinHostPort(st.Address, strconv.Itoa(inTask))
}

// mergedMeta merges job, group and task meta; the narrower scope wins.
func mergedMeta(a *structs.Allocation, t *structs.Task) map[string]string {
	out := map[string]string{}
	if a.Job != nil {
		maps.Copy(out, a.Job.Meta)
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			maps.Copy(out, tg.Meta)
		}
	}
	maps.Copy(out, t.Meta)
	return out
}

// cleanKey turns a label or meta key into a valid variable name part:
// every character other than a letter, digit or '_' becomes '_'.
func cleanKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, k)
}

// Map returns a copy of the task's environment variables.
func (e *Env) Map() map[string]string { return maps.Clone(e.vars) }

// Lookup returns the value of a task variable (NOMAD_ALLOC_ID, a task env
// value) or of a node key (node.unique.name, attr.kernel.name, meta.rack),
// as ${...} interpolation resolves them; ok is false for an unknown name.
func (e *Env) Lookup(name string) (value string, ok bool) { return e.lookup(name) }

// WithVars returns a copy of e with vars added to the task's environment,
// replacing variables of the same name (env = true templates use it).
func (e *Env) WithVars(vars map[string]string) *Env {
	n := &Env{vars: maps.Clone(e.vars), node: e.node}
	if n.vars == nil {
		n.vars = map[string]string{}
	}
	maps.Copy(n.vars, vars)
	return n
}
