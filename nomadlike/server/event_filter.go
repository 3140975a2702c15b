package server

import (
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// eventFilter selects the events of a subscription, as Nomad does: by
// namespace (events outside namespaces always pass), then by topic and key,
// where a key matches an event's Key or one of its FilterKeys.
type eventFilter struct {
	namespace string
	all       bool // every topic, every key
	topics    map[structs.Topic][]string
}

func newEventFilter(req EventSubscribeRequest) eventFilter {
	f := eventFilter{namespace: req.Namespace, topics: req.Topics}
	if len(f.topics) == 0 {
		f.all = true
	}
	for _, k := range f.topics[structs.TopicAll] {
		if k == string(structs.TopicAll) {
			f.all = true
		}
	}
	return f
}

// match returns the events of ev the filter passes, and whether there are any.
func (f eventFilter) match(ev structs.Events) (structs.Events, bool) {
	if f.all && f.namespace == "*" {
		return ev, true
	}
	var out []structs.Event
	for i := range ev.Events {
		if f.pass(&ev.Events[i]) {
			out = append(out, ev.Events[i])
		}
	}
	if len(out) == len(ev.Events) {
		return ev, true
	}
	return structs.Events{Index: ev.Index, Events: out}, len(out) > 0
}

func (f eventFilter) pass(e *structs.Event) bool {
	if f.namespace != "*" && e.Namespace != "" && e.Namespace != f.namespace {
		return false
	}
	if f.all {
		return true
	}
	return keysMatch(f.topics[structs.TopicAll], e) || keysMatch(f.topics[e.Topic], e)
}

func keysMatch(keys []string, e *structs.Event) bool {
	for _, k := range keys {
		if k == string(structs.TopicAll) || k == e.Key || slices.Contains(e.FilterKeys, k) {
			return true
		}
	}
	return false
}
