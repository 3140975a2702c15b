package structs

//go:generate sh codecgen.sh

import (
	"iter"
	"slices"
)

// The msgpack encoding of the structs that Raft entries, snapshots and the
// client protocol carry most (registrations, jobs, evaluations,
// allocations, plans) is generated code: codec.generated.go, written by
// codecgen.sh (go-msgpack's codecgen, patched to write what the reflective
// codec writes). After changing one of those structs, run `make codecgen`;
// TestCodecMatchesReflection fails until then, and TestCodecGolden holds
// the encoding to the bytes the reflective codec wrote.

// codecSelferMapRange ranges over m for the generated encoders: in key
// order under a canonical handle, as the reflective codec writes a map
// with string keys (codecgen itself ignores Canonical).
func codecSelferMapRange[M ~map[K]V, K ~string, V any](m M, canonical bool) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if !canonical || len(m) < 2 {
			for k, v := range m {
				if !yield(k, v) {
					return
				}
			}
			return
		}
		keys := make([]K, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
