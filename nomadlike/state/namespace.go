package state

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// allNamespaces reports whether a list request's namespace means "every namespace".
func allNamespaces(ns string) bool { return ns == "" || ns == "*" }

// objectNamespace returns the namespace an object or a single-object lookup
// lives in: "" means the default namespace.
func objectNamespace(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}
