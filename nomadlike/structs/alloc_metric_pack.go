package structs

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// A stored allocation's AllocMetric is read by nobody on the servers: it is
// only sent (the API, the client protocol, snapshots). Its ScoreMetaData,
// five nodes with their scores, was a quarter of the memory of a running
// allocation in the state store (~530 of ~2,800 bytes: a pointer slice,
// five NodeScoreMeta and five score slices). PackScores keeps it in one
// string of ~220 bytes instead, and every way the metric leaves the
// process (JSON, msgpack, Copy) unpacks it, so no encoding changes.

// PackMetrics keeps a's Metrics packed in a itself, with no AllocMetric
// left (Metrics reads nil afterwards; UnpackedMetrics returns it), or when
// the metric has ResourcesExhausted (not packed) its ScoreMetaData alone
// (PackScores). a must be the caller's own (the state store packs its
// stored copies); the AllocMetric is not changed.
func (a *Allocation) PackMetrics() {
	m := a.Metrics
	if m == nil {
		return
	}
	if p, ok := packMetric(m); ok {
		a.packedMetrics, a.Metrics = p, nil
		return
	}
	a.Metrics = m.PackScores()
}

// DropMetrics removes a's metric, packed or not (a copy sent without it).
func (a *Allocation) DropMetrics() {
	a.Metrics, a.packedMetrics = nil, ""
}

// UnpackedMetrics returns a's metric, unpacked if PackMetrics packed it (it
// is then the caller's).
func (a *Allocation) UnpackedMetrics() *AllocMetric {
	if a.packedMetrics != "" {
		return unpackMetric(a.packedMetrics)
	}
	return a.Metrics.unpacked()
}

// Packed metric: a uvarint bitmap of the fields that are not zero (maps
// and slices: not nil), then those fields in order; ints are varints,
// maps a count then their entries, ScoreMetaData a packScoreMeta string.
const (
	mNodesEvaluated = 1 << iota
	mNodesFiltered
	mNodesInPool
	mNodePool
	mNodesAvailable
	mClassFiltered
	mConstraintFiltered
	mNodesExhausted
	mClassExhausted
	mDimensionExhausted
	mQuotaExhausted
	mScores
	mAllocationTime
	mCoalescedFailures
	mScoreMetaData
	mDimensionFree
)

// packMetric packs m; it fails for a metric with ResourcesExhausted.
func packMetric(m *AllocMetric) (string, bool) {
	if m.ResourcesExhausted != nil {
		return "", false
	}
	var bits packFields
	bits.set(mNodesEvaluated, m.NodesEvaluated != 0)
	bits.set(mNodesFiltered, m.NodesFiltered != 0)
	bits.set(mNodesInPool, m.NodesInPool != 0)
	bits.set(mNodePool, m.NodePool != "")
	bits.set(mNodesAvailable, m.NodesAvailable != nil)
	bits.set(mClassFiltered, m.ClassFiltered != nil)
	bits.set(mConstraintFiltered, m.ConstraintFiltered != nil)
	bits.set(mNodesExhausted, m.NodesExhausted != 0)
	bits.set(mClassExhausted, m.ClassExhausted != nil)
	bits.set(mDimensionExhausted, m.DimensionExhausted != nil)
	bits.set(mQuotaExhausted, m.QuotaExhausted != nil)
	bits.set(mScores, m.Scores != nil)
	bits.set(mAllocationTime, m.AllocationTime != 0)
	bits.set(mCoalescedFailures, m.CoalescedFailures != 0)
	scores := m.ScoreMeta()
	bits.set(mScoreMetaData, scores != nil)
	bits.set(mDimensionFree, m.DimensionFree != nil)
	b := make([]byte, 0, 64)
	b = binary.AppendUvarint(b, uint64(bits))
	counts := func(bit packFields, c map[string]int) {
		if bits&bit != 0 {
			b = binary.AppendUvarint(b, uint64(len(c)))
			for k, v := range c {
				b = appendPackedString(b, k)
				b = binary.AppendVarint(b, int64(v))
			}
		}
	}
	b = bits.appendVarint(b, mNodesEvaluated, int64(m.NodesEvaluated))
	b = bits.appendVarint(b, mNodesFiltered, int64(m.NodesFiltered))
	b = bits.appendVarint(b, mNodesInPool, int64(m.NodesInPool))
	if bits&mNodePool != 0 {
		b = appendPackedString(b, m.NodePool)
	}
	counts(mNodesAvailable, m.NodesAvailable)
	counts(mClassFiltered, m.ClassFiltered)
	counts(mConstraintFiltered, m.ConstraintFiltered)
	b = bits.appendVarint(b, mNodesExhausted, int64(m.NodesExhausted))
	counts(mClassExhausted, m.ClassExhausted)
	counts(mDimensionExhausted, m.DimensionExhausted)
	if bits&mQuotaExhausted != 0 {
		b = binary.AppendUvarint(b, uint64(len(m.QuotaExhausted)))
		for _, q := range m.QuotaExhausted {
			b = appendPackedString(b, q)
		}
	}
	if bits&mScores != 0 {
		b = binary.AppendUvarint(b, uint64(len(m.Scores)))
		for k, v := range m.Scores {
			b = appendPackedString(b, k)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	b = bits.appendVarint(b, mAllocationTime, int64(m.AllocationTime))
	b = bits.appendVarint(b, mCoalescedFailures, int64(m.CoalescedFailures))
	if bits&mScoreMetaData != 0 {
		b = appendPackedString(b, packScoreMeta(scores))
	}
	if bits&mDimensionFree != 0 {
		b = binary.AppendUvarint(b, uint64(len(m.DimensionFree)))
		for k, d := range m.DimensionFree {
			b = appendPackedString(b, k)
			if d == nil {
				b = append(b, 1)
				continue
			}
			b = append(b, 0)
			b = binary.AppendVarint(b, d.Asked)
			b = binary.AppendVarint(b, d.LargestFree)
			b = appendPackedString(b, d.Unit)
		}
	}
	return string(b), true
}

func unpackMetric(p string) *AllocMetric {
	r := packReader{s: p}
	bits := packFields(r.uvarint())
	m := &AllocMetric{}
	counts := func(bit packFields) map[string]int {
		if bits&bit == 0 {
			return nil
		}
		n := r.count()
		c := make(map[string]int, n)
		for range n {
			k := r.string()
			c[k] = int(r.varint())
		}
		return c
	}
	m.NodesEvaluated = int(r.varintIf(bits, mNodesEvaluated))
	m.NodesFiltered = int(r.varintIf(bits, mNodesFiltered))
	m.NodesInPool = int(r.varintIf(bits, mNodesInPool))
	if bits&mNodePool != 0 {
		m.NodePool = r.string()
	}
	m.NodesAvailable = counts(mNodesAvailable)
	m.ClassFiltered = counts(mClassFiltered)
	m.ConstraintFiltered = counts(mConstraintFiltered)
	m.NodesExhausted = int(r.varintIf(bits, mNodesExhausted))
	m.ClassExhausted = counts(mClassExhausted)
	m.DimensionExhausted = counts(mDimensionExhausted)
	if bits&mQuotaExhausted != 0 {
		m.QuotaExhausted = make([]string, r.count())
		for i := range m.QuotaExhausted {
			m.QuotaExhausted[i] = r.string()
		}
	}
	if bits&mScores != 0 {
		n := r.count()
		m.Scores = make(map[string]float64, n)
		for range n {
			k := r.string()
			m.Scores[k] = r.float()
		}
	}
	m.AllocationTime = time.Duration(r.varintIf(bits, mAllocationTime))
	m.CoalescedFailures = int(r.varintIf(bits, mCoalescedFailures))
	if bits&mScoreMetaData != 0 {
		m.ScoreMetaData = unpackScoreMeta(r.string())
	}
	if bits&mDimensionFree != 0 {
		n := r.count()
		m.DimensionFree = make(map[string]*DimensionShortfall, n)
		for range n {
			k := r.string()
			if r.byte() == 1 {
				m.DimensionFree[k] = nil
				continue
			}
			d := &DimensionShortfall{Asked: r.varint(), LargestFree: r.varint()}
			d.Unit = r.string()
			m.DimensionFree[k] = d
		}
	}
	if r.bad {
		return nil // corrupt: no metric rather than a wrong one
	}
	return m
}

// plainAllocMetric is AllocMetric without its methods: the encodings of
// the fields themselves.
type plainAllocMetric AllocMetric

// PackScores returns a copy of m whose ScoreMetaData is kept packed (m
// itself is not changed); it returns m when there is nothing to pack.
// The state store packs the metrics it keeps. The copy's ScoreMetaData
// field reads nil: use ScoreMeta, or Copy, to read it.
func (m *AllocMetric) PackScores() *AllocMetric {
	if m == nil || m.ScoreMetaData == nil || m.packedScores != "" {
		return m
	}
	n := *m
	n.packedScores = packScoreMeta(m.ScoreMetaData)
	n.ScoreMetaData = nil
	return &n
}

// ScoreMeta returns m's ScoreMetaData, unpacked if PackScores packed it.
func (m *AllocMetric) ScoreMeta() []*NodeScoreMeta {
	if m == nil {
		return nil
	}
	if m.packedScores != "" {
		return unpackScoreMeta(m.packedScores)
	}
	return m.ScoreMetaData
}

// unpacked returns m with its ScoreMetaData in place (m when it is not packed).
func (m *AllocMetric) unpacked() *AllocMetric {
	if m == nil || m.packedScores == "" {
		return m
	}
	n := *m
	n.ScoreMetaData = unpackScoreMeta(m.packedScores)
	n.packedScores = ""
	return &n
}

// Equal reports whether m and o hold the same metric, packed or not (go-cmp
// calls it).
func (m *AllocMetric) Equal(o *AllocMetric) bool {
	return reflect.DeepEqual(m.unpacked(), o.unpacked())
}

// MarshalJSON writes the metric's fields, its ScoreMetaData unpacked.
func (m *AllocMetric) MarshalJSON() ([]byte, error) {
	return json.Marshal((*plainAllocMetric)(m.unpacked()))
}

// CodecEncodeSelf writes the metric as msgpack, its ScoreMetaData unpacked:
// the same bytes as before packing existed.
func (m *AllocMetric) CodecEncodeSelf(e *codec.Encoder) {
	e.MustEncode((*plainAllocMetric)(m.unpacked()))
}

// CodecDecodeSelf reads a metric written by CodecEncodeSelf.
func (m *AllocMetric) CodecDecodeSelf(d *codec.Decoder) {
	d.MustDecode((*plainAllocMetric)(m))
}

// Packed score metadata: a uvarint count of entries, then per entry a
// flags byte, the node ID (16 bytes when it is a lowercase UUID, else a
// uvarint length and the bytes), NormScore (8 bytes), and unless the
// scores are nil a uvarint count of scores, each a name (a uvarint, 1 + the
// index in scoreNames, or 0 followed by a uvarint length and the bytes)
// and a score (8 bytes). Floats are their IEEE bits, little endian, so
// every value, NaN included, comes back the same.
const (
	packNil       = 1 << iota // the entry is nil
	packUUID                  // the node ID is 16 bytes of a lowercase UUID
	packNilScores             // Scores is nil
)

func packScoreMeta(metas []*NodeScoreMeta) string {
	b := make([]byte, 0, 1+len(metas)*48)
	b = binary.AppendUvarint(b, uint64(len(metas)))
	for _, sm := range metas {
		if sm == nil {
			b = append(b, packNil)
			continue
		}
		var flags byte
		uuid, isUUID := uuidBytes(sm.NodeID)
		if isUUID {
			flags |= packUUID
		}
		if sm.Scores == nil {
			flags |= packNilScores
		}
		b = append(b, flags)
		if isUUID {
			b = append(b, uuid[:]...)
		} else {
			b = appendPackedString(b, sm.NodeID)
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sm.NormScore))
		if sm.Scores == nil {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(sm.Scores)))
		for _, s := range sm.Scores {
			if i := scoreNameIndex(s.Name); i >= 0 {
				b = binary.AppendUvarint(b, uint64(i+1))
			} else {
				b = append(b, 0)
				b = appendPackedString(b, s.Name)
			}
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Score))
		}
	}
	return string(b)
}

func unpackScoreMeta(p string) []*NodeScoreMeta {
	r := packReader{s: p}
	metas := make([]*NodeScoreMeta, r.count())
	for i := range metas {
		flags := r.byte()
		if flags&packNil != 0 {
			continue
		}
		sm := &NodeScoreMeta{}
		if flags&packUUID != 0 {
			if id := r.next(16); len(id) == 16 {
				sm.NodeID = uuidString(id)
			}
		} else {
			sm.NodeID = r.string()
		}
		sm.NormScore = r.float()
		if flags&packNilScores == 0 {
			sm.Scores = make(NodeScores, r.count())
			for j := range sm.Scores {
				if k := r.uvarint(); k > uint64(len(scoreNames)) {
					r.fail()
				} else if k > 0 {
					sm.Scores[j].Name = scoreNames[k-1]
				} else {
					sm.Scores[j].Name = r.string()
				}
				sm.Scores[j].Score = r.float()
			}
		}
		metas[i] = sm
	}
	if r.bad {
		return nil
	}
	return metas
}

// scoreNameIndex returns name's index in scoreNames, or -1.
func scoreNameIndex(name string) int {
	for i, n := range scoreNames {
		if n == name {
			return i
		}
	}
	return -1
}

func appendPackedString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// uuidBytes returns the 16 bytes of id when it is a UUID in lowercase
// canonical form (8-4-4-4-12 hex digits), the form uuidString gives back.
func uuidBytes(id string) (out [16]byte, ok bool) {
	if len(id) != 36 {
		return out, false
	}
	n := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if id[i] != '-' {
				return out, false
			}
			continue
		}
		v, ok := lowerHex(id[i])
		if !ok {
			return out, false
		}
		out[n/2] |= v << (4 * (1 - n%2))
		n++
	}
	return out, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// uuidString formats 16 bytes as a lowercase canonical UUID.
func uuidString(b string) string {
	const digits = "0123456789abcdef"
	var out [36]byte
	n := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			out[i] = '-'
			continue
		}
		c := b[n/2]
		if n%2 == 0 {
			c >>= 4
		}
		out[i] = digits[c&0xf]
		n++
	}
	return string(out[:])
}

// packFields is the bitmap that starts a packed record: bit set, the
// field is present and written after it, in bit order. Both the metric
// and the task event encoders use it.
type packFields uint64

func (f *packFields) set(bit packFields, present bool) {
	if present {
		*f |= bit
	}
}

// appendVarint appends v when f holds bit.
func (f packFields) appendVarint(b []byte, bit packFields, v int64) []byte {
	if f&bit != 0 {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// appendString appends s when f holds bit.
func (f packFields) appendString(b []byte, bit packFields, s string) []byte {
	if f&bit != 0 {
		b = appendPackedString(b, s)
	}
	return b
}

// varintIf reads a varint when f holds bit, else 0.
func (r *packReader) varintIf(f, bit packFields) int64 {
	if f&bit != 0 {
		return r.varint()
	}
	return 0
}

// stringIf reads a string into *s when f holds bit.
func (r *packReader) stringIf(f, bit packFields, s *string) {
	if f&bit != 0 {
		*s = r.string()
	}
}

// packReader reads a packed string written by this package's encoders.
// It never reads past the end of the string: a truncated or corrupted
// value sets bad and reads as zero from then on, and every count is
// bounded by the bytes left (each entry takes at least one), so no read
// panics or allocates more than the input's length. Callers check bad
// and fall back to nil.
type packReader struct {
	s   string
	i   int
	bad bool
}

func (r *packReader) fail() {
	r.bad = true
	r.i = len(r.s)
}

func (r *packReader) next(n int) string {
	if n < 0 || n > len(r.s)-r.i {
		r.fail()
		return ""
	}
	v := r.s[r.i : r.i+n]
	r.i += n
	return v
}

func (r *packReader) byte() byte {
	if r.i >= len(r.s) {
		r.fail()
		return 0
	}
	v := r.s[r.i]
	r.i++
	return v
}

func (r *packReader) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		if r.bad {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.fail() // longer than a uint64
	return 0
}

func (r *packReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads a count of entries that follow, each at least one byte: a
// count beyond the bytes left is corrupt and reads as 0.
func (r *packReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.i) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *packReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.s)-r.i) {
		r.fail()
		return ""
	}
	return r.next(int(n))
}

func (r *packReader) float() float64 {
	b := r.next(8)
	if len(b) != 8 {
		return 0
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return math.Float64frombits(v)
}
