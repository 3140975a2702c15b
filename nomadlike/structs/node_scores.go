package structs

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// NodeScores are one node's scores for a placement, by scorer name. On the
// wire (JSON and msgpack: the HTTP API, Raft entries, snapshots) they are
// Nomad's map[string]float64; in memory a short slice sorted by name,
// because every stored allocation keeps up to five of them (a Go map of a
// few entries takes about 250 bytes, this about 24 per score).
type NodeScores []NamedScore

// NamedScore is one scorer's score.
type NamedScore struct {
	Name  string
	Score float64
}

// Get returns the score of name and whether there is one.
func (s NodeScores) Get(name string) (float64, bool) {
	i, ok := slices.BinarySearchFunc(s, name, func(e NamedScore, n string) int { return strings.Compare(e.Name, n) })
	if !ok {
		return 0, false
	}
	return s[i].Score, true
}

// Set sets the score of name.
func (s *NodeScores) Set(name string, score float64) {
	i, ok := slices.BinarySearchFunc(*s, name, func(e NamedScore, n string) int { return strings.Compare(e.Name, n) })
	if ok {
		(*s)[i].Score = score
		return
	}
	*s = slices.Insert(*s, i, NamedScore{Name: internScoreName(name), Score: score})
}

// Map returns the scores as a map (nil for nil scores).
func (s NodeScores) Map() map[string]float64 {
	if s == nil {
		return nil
	}
	m := make(map[string]float64, len(s))
	for _, e := range s {
		m[e.Name] = e.Score
	}
	return m
}

// NodeScoresOf returns m as NodeScores (nil for a nil map).
func NodeScoresOf(m map[string]float64) NodeScores {
	if m == nil {
		return nil
	}
	s := make(NodeScores, 0, len(m))
	for name, score := range m {
		s = append(s, NamedScore{Name: internScoreName(name), Score: score})
	}
	slices.SortFunc(s, func(a, b NamedScore) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// Clone returns a copy of s (AllocMetric.Copy uses it; TestCopyIsDeep checks it there).
func (s NodeScores) Clone() NodeScores {
	return slices.Clone(s)
}

// MarshalJSON writes the scores as a JSON object, keys sorted (as
// encoding/json writes a map).
func (s NodeScores) MarshalJSON() ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.Score)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of scores (or null).
func (s *NodeScores) UnmarshalJSON(data []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*s = NodeScoresOf(m)
	return nil
}

// CodecEncodeSelf writes the scores as a msgpack map, as a
// map[string]float64 field was written. Scores sorted by name, as NodeScores
// keeps them, are written in their order without making the map: the
// order a canonical handle sorts the map's keys in (any order does for
// the others).
func (s NodeScores) CodecEncodeSelf(e *codec.Encoder) {
	if s == nil || !s.sortedUnique() {
		e.MustEncode(s.Map())
		return
	}
	z, r := codec.GenHelperEncoder(e)
	r.WriteMapStart(len(s))
	for _, n := range s {
		r.WriteMapElemKey()
		if z.EncBasicHandle().StringToRaw {
			r.EncodeStringBytesRaw([]byte(n.Name))
		} else {
			r.EncodeStringEnc(msgpackUTF8, n.Name)
		}
		r.WriteMapElemValue()
		r.EncodeFloat64(n.Score)
	}
	r.WriteMapEnd()
}

// msgpackUTF8 is go-msgpack's UTF-8 string encoding (its cUTF8; the
// generated codecs' codecSelferCcUTF8).
const msgpackUTF8 = 1

// sortedUnique reports whether s's names are in strictly increasing order.
func (s NodeScores) sortedUnique() bool {
	for i := 1; i < len(s); i++ {
		if s[i-1].Name >= s[i].Name {
			return false
		}
	}
	return true
}

// CodecDecodeSelf reads a msgpack map of scores.
func (s *NodeScores) CodecDecodeSelf(d *codec.Decoder) {
	var m map[string]float64
	d.MustDecode(&m)
	*s = NodeScoresOf(m)
}

// internScoreName returns the scheduler's own string for the usual score
// names, so that decoded allocations do not each hold a copy.
func internScoreName(name string) string {
	for _, n := range scoreNames {
		if n == name {
			return n
		}
	}
	return name
}

// scoreNames are the score names the scheduler writes (Nomad's).
var scoreNames = []string{"binpack", "job-anti-affinity", "node-reschedule-penalty", "node-affinity", "allocation-spread"}
