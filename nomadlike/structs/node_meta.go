package structs

import (
	"maps"
	"slices"
	"strings"
)

// NodeMetaApplyRequest changes a node's dynamic metadata (POST
// /v1/client/metadata): a key with a value sets it, a key with null removes
// it (a static key too). NodeID "" means the node of the agent asked.
type NodeMetaApplyRequest struct {
	NodeID string
	Meta   map[string]*string
}

// Validate checks the keys of a meta update.
func (r *NodeMetaApplyRequest) Validate() error {
	if len(r.Meta) == 0 {
		return NewBadRequest("no metadata to apply: send {\"Meta\": {\"key\": \"value\", \"removed\": null}}")
	}
	keys := slices.Sorted(maps.Keys(r.Meta))
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return NewBadRequest("node meta key %q is invalid: keys must be non-empty and hold no '=' or whitespace", k)
		}
	}
	return nil
}

// NodeMetaResponse is a node's metadata as its client holds it: Static from
// the agent configuration (with Nomad's default connect.* keys), Dynamic
// set through the API (null: removed), Meta the two merged.
type NodeMetaResponse struct {
	Meta    map[string]string
	Dynamic map[string]*string
	Static  map[string]string
}

// MergeNodeMeta applies dynamic metadata over static metadata: a null
// dynamic value removes the key.
func MergeNodeMeta(static map[string]string, dynamic map[string]*string) map[string]string {
	out := maps.Clone(static)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range dynamic {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}
