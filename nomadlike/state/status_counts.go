package state

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// StatusCounts counts nodes by status and allocations by client status, for
// metrics. It walks both tables without copying rows (a scrape of a
// million-allocation state reads a million pointers, once).
func (s *reader) StatusCounts() (nodes, allocs map[string]int) {
	txn := s.readTxn()
	nodes, allocs = map[string]int{}, map[string]int{}
	if it, err := get(txn, nil, tableNodes, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			nodes[raw.(*structs.Node).Status]++
		}
	}
	if it, err := get(txn, nil, tableAllocs, indexID); err == nil {
		for raw := it.Next(); raw != nil; raw = it.Next() {
			allocs[raw.(*structs.Allocation).ClientStatus]++
		}
	}
	return nodes, allocs
}
