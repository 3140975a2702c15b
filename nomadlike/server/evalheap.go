package server

import (
	"container/heap"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// evalHeap orders evaluations by priority (highest first), then by
// CreateIndex (oldest first), then by ID, so the order is total.
type evalHeap []*structs.Evaluation

func (h evalHeap) Len() int { return len(h) }
func (h evalHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if a.CreateIndex != b.CreateIndex {
		return a.CreateIndex < b.CreateIndex
	}
	return a.ID < b.ID
}
func (h evalHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *evalHeap) Push(x any)   { *h = append(*h, x.(*structs.Evaluation)) }
func (h *evalHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}

func (h *evalHeap) push(e *structs.Evaluation) { heap.Push(h, e) }
func (h *evalHeap) pop() *structs.Evaluation   { return heap.Pop(h).(*structs.Evaluation) }
func (h evalHeap) peek() *structs.Evaluation {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}

// delayedEval is an evaluation held until readyAt.
type delayedEval struct {
	eval    *structs.Evaluation
	readyAt time.Time
}

// delayHeap orders delayed evaluations by readyAt, earliest first.
type delayHeap []delayedEval

func (h delayHeap) Len() int { return len(h) }
func (h delayHeap) Less(i, j int) bool {
	if !h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].readyAt.Before(h[j].readyAt)
	}
	return h[i].eval.ID < h[j].eval.ID
}
func (h delayHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *delayHeap) Push(x any)   { *h = append(*h, x.(delayedEval)) }
func (h *delayHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}
