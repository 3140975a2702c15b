package acl

import "strings"

// capSet is a set of capabilities.
type capSet map[string]bool

// labeled holds the merged rules of one kind (namespace, node pool, host
// volume): exact labels and glob labels.
type labeled struct {
	exact map[string]capSet
	globs map[string]capSet
}

func newLabeled() labeled { return labeled{exact: map[string]capSet{}, globs: map[string]capSet{}} }

func (l labeled) add(r *LabeledRule) {
	m := l.exact
	if strings.Contains(r.Name, "*") {
		m = l.globs
	}
	set := m[r.Name]
	if set == nil {
		set = capSet{}
		m[r.Name] = set
	}
	for _, c := range r.Capabilities {
		set[c] = true
	}
}

// lookup returns the capabilities of the rule that applies to name: the
// exact rule, else the glob rule matching the most literal characters
// (ties broken by the shorter glob, then lexically, so it is deterministic).
func (l labeled) lookup(name string) capSet {
	label, ok := l.lookupLabel(name)
	if !ok {
		return nil
	}
	if set, ok := l.exact[label]; ok {
		return set
	}
	return l.globs[label]
}

// lookupLabel returns the label of the rule that applies to name (see lookup).
func (l labeled) lookupLabel(name string) (string, bool) {
	if _, ok := l.exact[name]; ok {
		return name, true
	}
	var (
		found     bool
		bestScore = -1
		bestGlob  string
	)
	for g := range l.globs {
		if !globMatch(g, name) {
			continue
		}
		score := len(strings.ReplaceAll(g, "*", ""))
		if score > bestScore || (score == bestScore && (len(g) < len(bestGlob) || (len(g) == len(bestGlob) && g < bestGlob))) {
			found, bestScore, bestGlob = true, score, g
		}
	}
	return bestGlob, found
}

// allows reports whether the applicable rule grants capability c and does not deny.
func (l labeled) allows(name, c string) bool {
	set := l.lookup(name)
	return set != nil && !set["deny"] && set[c]
}

// any reports whether the applicable rule grants any capability.
func (l labeled) any(name string) bool {
	set := l.lookup(name)
	if set == nil || set["deny"] {
		return false
	}
	return len(set) > 0
}

// globMatch matches name against a pattern where '*' stands for any run of characters.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// ACL is the compiled permission set of a token: its policies merged.
type ACL struct {
	management  bool
	namespaces  labeled
	nodePools   labeled
	hostVolumes labeled
	// variables are each namespace label's variable path rules.
	variables map[string]labeled
	coarse    map[string]string
}

// Coarse rule kinds.
const (
	Node     = "node"
	Agent    = "agent"
	Operator = "operator"
	Quota    = "quota"
	Plugin   = "plugin"
)

// ManagementACL allows everything: management tokens, and every request
// when ACLs are disabled.
var ManagementACL = &ACL{management: true}

// DenyAll allows nothing.
var DenyAll = Compile(nil)

// Compile merges policies into an ACL. Capabilities add up; a deny in any
// policy wins over grants in others.
func Compile(policies []*Policy) *ACL {
	a := &ACL{namespaces: newLabeled(), nodePools: newLabeled(), hostVolumes: newLabeled(), variables: map[string]labeled{}, coarse: map[string]string{}}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, r := range p.Namespaces {
			a.namespaces.add(r)
			paths, ok := a.variables[r.Name]
			if !ok {
				paths = newLabeled()
				a.variables[r.Name] = paths
			}
			for _, v := range r.Variables {
				paths.add(&LabeledRule{Name: v.Path, Capabilities: v.Capabilities})
			}
		}
		for _, r := range p.NodePools {
			a.nodePools.add(r)
		}
		for _, r := range p.HostVolumes {
			a.hostVolumes.add(r)
		}
		for kind, level := range map[string]string{Node: p.Node, Agent: p.Agent, Operator: p.Operator, Quota: p.Quota, Plugin: p.Plugin} {
			a.coarse[kind] = mergeLevel(a.coarse[kind], level)
		}
	}
	return a
}

var levelRank = map[string]int{"": 0, PolicyList: 1, PolicyRead: 2, PolicyWrite: 3, PolicyDeny: 4}

// mergeLevel combines two dispositions: deny wins, else the stronger one.
func mergeLevel(a, b string) string {
	if levelRank[b] > levelRank[a] {
		return b
	}
	return a
}

// IsManagement reports whether the ACL allows everything.
func (a *ACL) IsManagement() bool { return a != nil && a.management }

// AllowNamespaceOp reports whether capability c is granted in namespace ns.
func (a *ACL) AllowNamespaceOp(ns, c string) bool {
	if a == nil {
		return false
	}
	if a.management {
		return true
	}
	return a.namespaces.allows(ns, c)
}

// AllowNamespace reports whether any capability is granted in namespace ns
// (what listing and reading the namespace itself needs).
func (a *ACL) AllowNamespace(ns string) bool {
	if a == nil {
		return false
	}
	return a.management || a.namespaces.any(ns)
}

// AllowHostVolume reports whether capability c is granted on host volume name.
func (a *ACL) AllowHostVolume(name, c string) bool {
	if a == nil {
		return false
	}
	return a.management || a.hostVolumes.allows(name, c)
}

// AllowNodePool reports whether capability c is granted on node pool name.
func (a *ACL) AllowNodePool(name, c string) bool {
	if a == nil {
		return false
	}
	return a.management || a.nodePools.allows(name, c)
}

// Allow reports whether a coarse rule (node, agent, operator, quota,
// plugin) grants level: write allows read and list, read allows list.
func (a *ACL) Allow(kind, level string) bool {
	if a == nil {
		return false
	}
	if a.management {
		return true
	}
	have := a.coarse[kind]
	if have == PolicyDeny || have == "" {
		return false
	}
	return levelRank[have] >= levelRank[level]
}
