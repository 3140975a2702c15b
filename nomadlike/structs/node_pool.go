package structs

import (
	"maps"
	"regexp"
)

// Built-in node pools. They always exist and cannot be changed or deleted.
const (
	// NodePoolAll holds every node; jobs may use it, nodes may not name it.
	NodePoolAll = "all"
	// nodePoolAllDescription and nodePoolDefaultDescription are Nomad's
	// descriptions of the built-in pools.
	nodePoolAllDescription     = "Node pool with all nodes in the cluster."
	nodePoolDefaultDescription = "Default node pool."
)

// validNodePoolName is Nomad's rule for node pool names.
var validNodePoolName = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,128}$`)

// NodePool groups client nodes; a job places only on nodes of its pool (or
// on every node with the built-in pool "all").
type NodePool struct {
	Name        string
	Description string
	Meta        map[string]string
	// SchedulerConfiguration overrides the cluster's scheduler algorithm for
	// the pool's jobs (nil: the cluster's configuration).
	SchedulerConfiguration *NodePoolSchedulerConfiguration `json:",omitempty"`
	CreateIndex            uint64
	ModifyIndex            uint64
}

// NodePoolSchedulerConfiguration is the part of the scheduler configuration
// a node pool may override.
type NodePoolSchedulerConfiguration struct {
	// SchedulerAlgorithm is "binpack", "spread" or "" (the cluster's).
	SchedulerAlgorithm string `json:",omitempty"`
	// MemoryOversubscriptionEnabled is accepted only unset or false: memory
	// oversubscription is not implemented.
	MemoryOversubscriptionEnabled *bool `json:",omitempty"`
}

// BuiltInNodePools returns the pools that exist before anyone writes one,
// "all" and "default", as Nomad describes them (created at index 1).
func BuiltInNodePools() []*NodePool {
	return []*NodePool{
		{Name: NodePoolAll, Description: nodePoolAllDescription, Meta: map[string]string{}, CreateIndex: 1, ModifyIndex: 1},
		{Name: DefaultNodePool, Description: nodePoolDefaultDescription, Meta: map[string]string{}, CreateIndex: 1, ModifyIndex: 1},
	}
}

// IsBuiltInNodePool reports whether name is "all" or "default".
func IsBuiltInNodePool(name string) bool { return name == NodePoolAll || name == DefaultNodePool }

// ValidateNodePoolName checks a pool name as Nomad does.
func ValidateNodePoolName(name string) error {
	if !validNodePoolName.MatchString(name) {
		return NewBadRequest("node pool name %q is invalid: use 1 to 128 letters, digits, dashes and underscores", name)
	}
	return nil
}

// Validate checks a node pool a user writes.
func (p *NodePool) Validate() error {
	if p == nil {
		return NewBadRequest("node pool is missing: send {\"Name\": ..., \"Description\": ..., \"Meta\": {...}}")
	}
	if err := ValidateNodePoolName(p.Name); err != nil {
		return err
	}
	if len(p.Description) > 256 {
		return NewBadRequest("node pool %q: description is %d characters long, more than 256", p.Name, len(p.Description))
	}
	if c := p.SchedulerConfiguration; c != nil {
		switch c.SchedulerAlgorithm {
		case "", SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread:
		default:
			return NewBadRequest("node pool %q: scheduler_config.scheduler_algorithm %q is unknown: use %q or %q",
				p.Name, c.SchedulerAlgorithm, SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread)
		}
		if c.MemoryOversubscriptionEnabled != nil && *c.MemoryOversubscriptionEnabled {
			return NewBadRequest("node pool %q: scheduler_config.memory_oversubscription_enabled = true is not supported (this scheduler does not oversubscribe memory); remove it", p.Name)
		}
	}
	return nil
}

// Copy returns a deep copy.
func (p *NodePool) Copy() *NodePool {
	if p == nil {
		return nil
	}
	c := *p
	c.Meta = maps.Clone(p.Meta)
	if p.SchedulerConfiguration != nil {
		sc := *p.SchedulerConfiguration
		if sc.MemoryOversubscriptionEnabled != nil {
			v := *sc.MemoryOversubscriptionEnabled
			sc.MemoryOversubscriptionEnabled = &v
		}
		c.SchedulerConfiguration = &sc
	}
	return &c
}

// NodePoolUpsertRequest stores node pools (Raft NodePoolUpsertRequestType).
type NodePoolUpsertRequest struct {
	NodePools []*NodePool
}

// NodePoolDeleteRequest removes node pools by name (Raft NodePoolDeleteRequestType).
type NodePoolDeleteRequest struct {
	Names []string
}
