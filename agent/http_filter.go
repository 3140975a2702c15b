package agent

import (
	"github.com/hashicorp/go-bexpr"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Bounds of a ?filter= expression: its length and the work one evaluation
// may do (bexpr's default is 2 million expressions).
const (
	maxFilterLen         = 4096
	maxFilterExpressions = 10_000
)

// newFilter parses a ?filter= expression (Nomad's grammar, go-bexpr); a
// malformed one is a 400 naming the problem.
func newFilter(expr string) (*bexpr.Evaluator, error) {
	if len(expr) > maxFilterLen {
		return nil, structs.NewBadRequest("filter is %d bytes long, more than the limit of %d; write a shorter expression", len(expr), maxFilterLen)
	}
	ev, err := bexpr.CreateEvaluator(expr, bexpr.WithMaxExpressions(maxFilterExpressions))
	if err != nil {
		return nil, structs.NewBadRequest("failed to read filter expression: %v (Nomad's filter syntax: e.g. Status == \"running\" and JobID contains \"web\")", err)
	}
	return ev, nil
}

// filterItems keeps the items ev matches (all of them when ev is nil). An
// item the expression cannot be evaluated on (a selector it lacks) does
// not match; when no item can be evaluated the expression is a 400, so a
// misspelt field is not a silently empty list.
func filterItems[T any](ev *bexpr.Evaluator, items []T) ([]T, error) {
	if ev == nil {
		return items, nil
	}
	out := items[:0:0]
	var firstErr error
	evaluated := 0
	for _, it := range items {
		ok, err := ev.Evaluate(it)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		evaluated++
		if ok {
			out = append(out, it)
		}
	}
	if evaluated == 0 && firstErr != nil {
		return nil, structs.NewBadRequest("filter %q: %v", ev.Expression(), firstErr)
	}
	return out, nil
}
