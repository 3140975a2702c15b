package iradix

// smallSet is a set that keeps its first smallSetInline members inline and
// moves them into a map once there are more. A transaction's writes to one
// go-memdb index touch a handful of nodes (a path and its leaf), and the
// maps of writable nodes and of channels to notify that upstream made for
// each (then grew past 8) were a good share of a small write's allocations
// and time (nomadlike's change).
type smallSet[T comparable] struct {
	n      int
	inline [smallSetInline]T
	m      map[T]struct{}
}

const smallSetInline = 8

func (s *smallSet[T]) has(x T) bool {
	if s.m != nil {
		_, ok := s.m[x]
		return ok
	}
	for _, y := range s.inline[:s.n] {
		if y == x {
			return true
		}
	}
	return false
}

func (s *smallSet[T]) add(x T) {
	if s.m != nil {
		s.m[x] = struct{}{}
		return
	}
	if s.has(x) {
		return
	}
	if s.n < len(s.inline) {
		s.inline[s.n] = x
		s.n++
		return
	}
	s.m = make(map[T]struct{}, 4*smallSetInline)
	for _, y := range s.inline[:s.n] {
		s.m[y] = struct{}{}
	}
	s.inline, s.n = [smallSetInline]T{}, 0
	s.m[x] = struct{}{}
}

func (s *smallSet[T]) len() int {
	if s.m != nil {
		return len(s.m)
	}
	return s.n
}

// reset empties the set and lets go of its members.
func (s *smallSet[T]) reset() { *s = smallSet[T]{} }

// each calls f with every member.
func (s *smallSet[T]) each(f func(T)) {
	if s.m != nil {
		for x := range s.m {
			f(x)
		}
		return
	}
	for _, x := range s.inline[:s.n] {
		f(x)
	}
}
