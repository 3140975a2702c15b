package structs

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// uniquePrefix marks attributes and meta keys that identify one node
// (unique.hostname, unique.network.ip-address, ...); they are left out of
// the computed class, as Nomad leaves them out.
const uniquePrefix = "unique."

// isUniqueNamespace reports whether an attribute or meta key is unique to a
// node and so excluded from its computed class.
func isUniqueNamespace(key string) bool { return strings.HasPrefix(key, uniquePrefix) }

// ComputeClass sets n.ComputedClass ("v1:<hash>") from what feasibility
// checks read and several nodes may share: datacenter, node class, node
// pool, attributes and meta (except unique.* keys) and which drivers are
// detected and healthy. Nodes of one computed class pass or fail every
// constraint that does not reference a unique value alike, so the
// scheduler checks such constraints once per class.
func (n *Node) ComputeClass() {
	h := fnv.New64a()
	put := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	putMap := func(tag string, m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			if !isUniqueNamespace(k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		put(tag, strconv.Itoa(len(keys)))
		for _, k := range keys {
			put(k, m[k])
		}
	}
	pool := n.NodePool
	if pool == "" {
		pool = DefaultNodePool
	}
	put("dc", n.Datacenter, "class", n.NodeClass, "pool", pool)
	putMap("attr", n.Attributes)
	putMap("meta", n.Meta)
	drivers := make([]string, 0, len(n.Drivers))
	for name, d := range n.Drivers {
		if d != nil {
			drivers = append(drivers, name+"="+strconv.FormatBool(d.Detected)+","+strconv.FormatBool(d.Healthy))
		}
	}
	slices.Sort(drivers)
	put("drivers")
	put(drivers...)
	n.ComputedClass = "v1:" + strconv.FormatUint(h.Sum64(), 10)
}
