package structs

import "strings"

// IngressVariablePrefix is the variable path below which the ingress keeps
// its TLS certificates and ACME state, in the default namespace. With ACLs
// enabled a client's node secret (sent with NodeIDHeader naming its node)
// may read, list, write and destroy these variables, and no others: every
// ingress client serves the same certificates.
const IngressVariablePrefix = "nomadlike/ingress"

// NodeIDHeader names the node whose secret a request carries as its token,
// on the endpoints a node's secret may use beyond the client protocol's own:
// the ingress's variables, and GET /v1/services and /v1/service/{name} in
// every namespace (the client's DNS and ingress).
const NodeIDHeader = "X-Nomadlike-Node-ID"

// IsIngressVariable reports whether path is IngressVariablePrefix or below it.
func IsIngressVariable(path string) bool {
	return path == IngressVariablePrefix || strings.HasPrefix(path, IngressVariablePrefix+"/")
}
