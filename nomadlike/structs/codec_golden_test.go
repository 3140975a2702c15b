package structs

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// The structs' msgpack encoding is generated code (codec.generated.go, see
// codecgen.sh), and the same code serves every handle: the Raft log's and
// the client protocol's two. These tests hold it to the encoding the
// reflective codec gave:
//   - testdata/codec/*.msgpack are golden bytes written by the reflective
//     codec, before the generated one existed (the Raft log and snapshots
//     of a previous build): the generated code must encode a corpus to the
//     same bytes and decode those bytes back to the corpus.
//   - Every value is also encoded and decoded reflectively through a
//     mirror: the same fields in unnamed types of their own (reflect.StructOf),
//     which no generated code serves. Random values of every generated type
//     must give the same bytes and values both ways; a field added to a
//     struct without regenerating fails here.

// -update-codec-golden writes the reflective mirror's bytes of the corpus
// values that have no file yet: the files there are a previous build's
// bytes and stay (delete a value's files only when its value changed).
var updateCodecGolden = flag.Bool("update-codec-golden", false, "write testdata/codec files missing for the corpus, with the reflective codec's encoding")

// codecHandles are the handles the structs travel through.
var codecHandles = []struct {
	name string
	h    *codec.MsgpackHandle
}{
	{"raft", RaftMsgpackHandle},
	{"wire", WireMsgpackHandle},
	{"reply", WireMsgpackReplyHandle},
}

// codecRoots are the types the corpus is made of (their fields reach every
// generated type).
var codecRoots = []reflect.Type{
	reflect.TypeFor[JobRegisterRequest](),
	reflect.TypeFor[Evaluation](),
	reflect.TypeFor[Allocation](),
	reflect.TypeFor[ApplyPlanResultsRequest](),
	reflect.TypeFor[AllocClientUpdateBatchRequest](),
	reflect.TypeFor[EvalUpdateRequest](),
	reflect.TypeFor[NodeAllocsPullResponse](),
	reflect.TypeFor[NodeAllocUpdateRequest](),
	reflect.TypeFor[NodeAllocsPullRequest](),
}

func encodeWith(t testing.TB, h *codec.MsgpackHandle, v any) []byte {
	t.Helper()
	var b []byte
	if err := codec.NewEncoderBytes(&b, h).Encode(v); err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return b
}

func decodeWith(t testing.TB, h *codec.MsgpackHandle, b []byte, typ reflect.Type) reflect.Value {
	t.Helper()
	p := reflect.New(typ)
	if err := codec.NewDecoderBytes(b, h).Decode(p.Interface()); err != nil {
		t.Fatalf("decode %v: %v", typ, err)
	}
	return p.Elem()
}

// sameEncoding compares two encodings: byte for byte under a canonical
// handle; otherwise with every map's entries in key order (the order of
// a non-canonical map is Go's iteration order, random).
func sameEncoding(t testing.TB, h *codec.MsgpackHandle, got, want []byte) bool {
	t.Helper()
	if h.Canonical {
		return bytes.Equal(got, want)
	}
	g, err := sortedMsgpack(got)
	if err != nil {
		t.Fatalf("read got: %v", err)
	}
	w, err := sortedMsgpack(want)
	if err != nil {
		t.Fatalf("read want: %v", err)
	}
	return bytes.Equal(g, w)
}

// codecCorpus is the golden corpus: named values, every optional block set
// in most (random fill, fixed seeds), and hand-made edge cases.
func codecCorpus() []struct {
	name string
	v    any
} {
	var out []struct {
		name string
		v    any
	}
	add := func(name string, v any) {
		out = append(out, struct {
			name string
			v    any
		}{name, v})
	}
	for i, root := range codecRoots {
		for seed := range 3 {
			f := newFiller(uint64(100*i + seed))
			if seed == 2 {
				f.nilOdds = 2 // sparse: many nil pointers, slices and maps
			}
			add(fmt.Sprintf("%s-%d", root.Name(), seed), f.value(root).Addr().Interface())
		}
	}
	empty := &JobRegisterRequest{Job: &Job{
		ID: "empty", Meta: map[string]string{}, Datacenters: []string{},
		TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Config: map[string]any{}, Env: map[string]string{}}}, Meta: map[string]string{}}},
	}}
	add("JobRegisterRequest-empty-containers", empty)
	long := &JobRegisterRequest{Job: &Job{ID: strings.Repeat("long", 80), Meta: map[string]string{"k": strings.Repeat("v", 200)}}} // str16, str8
	add("JobRegisterRequest-long-strings", long)
	add("Allocation-zero", &Allocation{})
	add("Evaluation-zero", &Evaluation{})
	packed := newFiller(7).value(reflect.TypeFor[Allocation]()).Addr().Interface().(*Allocation)
	packed.PackTaskStates()
	packed.PackMetrics()
	add("Allocation-packed", packed)
	return out
}

func TestCodecGolden(t *testing.T) {
	dir := filepath.Join("testdata", "codec")
	if *updateCodecGolden {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mr := newCodecMirror()
	for _, c := range codecCorpus() {
		typ := reflect.TypeOf(c.v).Elem()
		want := reflect.ValueOf(c.v).Elem()
		if a, ok := c.v.(*Allocation); ok {
			want = reflect.ValueOf(a.unpacked()).Elem() // decoding never packs
		}
		for _, h := range codecHandles {
			file := filepath.Join(dir, c.name+"."+h.name+".msgpack")
			b := encodeWith(t, h.h, c.v)
			mb := encodeWith(t, h.h, mr.toMirror(reflect.ValueOf(c.v).Elem()).Interface())
			if _, err := os.Stat(file); *updateCodecGolden && os.IsNotExist(err) {
				if err := os.WriteFile(file, mb, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (write the golden files with -update-codec-golden, from the reflective codec only)", err)
			}
			if !sameEncoding(t, h.h, b, golden) {
				t.Errorf("%s, %s handle: encoding differs from %s", c.name, h.name, file)
			}
			if !sameEncoding(t, h.h, mb, golden) {
				t.Errorf("%s, %s handle: the reflective mirror's encoding differs from %s", c.name, h.name, file)
			}
			got := decodeWith(t, h.h, golden, typ)
			if diff := cmp.Diff(want.Interface(), got.Interface(), codecCmpOpts...); diff != "" {
				t.Errorf("%s, %s handle: decoded golden bytes differ from the corpus (-want +got):\n%s", c.name, h.name, diff)
			}
			mgot := mr.fromMirror(decodeWith(t, h.h, golden, mr.typ(typ)), typ)
			if !reflect.DeepEqual(mgot.Interface(), got.Interface()) {
				t.Errorf("%s, %s handle: decoded golden bytes differ from the reflective mirror's decoding:\n%s", c.name, h.name, cmp.Diff(mgot.Interface(), got.Interface(), codecCmpOpts...))
			}
		}
	}
}

// TestCodecMatchesReflection: random values of every root type encode to
// the bytes the reflective codec gives and decode back to the same values,
// through every handle.
func TestCodecMatchesReflection(t *testing.T) {
	mr := newCodecMirror()
	for _, root := range codecRoots {
		for seed := range 40 {
			f := newFiller(uint64(seed)*7919 + 1)
			f.nilOdds = 2 + seed%5
			v := f.value(root)
			for _, h := range codecHandles {
				b := encodeWith(t, h.h, v.Addr().Interface())
				mb := encodeWith(t, h.h, mr.toMirror(v).Interface())
				if !sameEncoding(t, h.h, b, mb) {
					t.Fatalf("%v seed %d, %s handle: generated and reflective encodings differ", root, seed, h.name)
				}
				got := decodeWith(t, h.h, b, root)
				mgot := mr.fromMirror(decodeWith(t, h.h, b, mr.typ(root)), root)
				if !reflect.DeepEqual(mgot.Interface(), got.Interface()) {
					t.Fatalf("%v seed %d, %s handle: generated and reflective decodings differ:\n%s", root, seed, h.name, cmp.Diff(mgot.Interface(), got.Interface(), codecCmpOpts...))
				}
			}
		}
	}
}

// TestWireMsgpackDepthBounded: a body from the network nested past the
// wire handle's MaxDepth is refused, generated codecs or not (the nesting
// a client controls is in interface values: a task's Config).
func TestWireMsgpackDepthBounded(t *testing.T) {
	deep := func(n int) *JobRegisterRequest {
		var v any = "leaf"
		for range n {
			v = map[string]any{"k": v}
		}
		return &JobRegisterRequest{Job: &Job{ID: "deep", TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t", Config: map[string]any{"x": v}}}}}}}
	}
	var b []byte
	if err := codec.NewEncoderBytes(&b, RaftMsgpackHandle).Encode(deep(5000)); err != nil {
		t.Fatal(err)
	}
	var out JobRegisterRequest
	err := codec.NewDecoderBytes(b, WireMsgpackHandle).Decode(&out)
	if err == nil || !strings.Contains(err.Error(), "maximum decoding depth") {
		t.Fatalf("decoding a body nested 5000 deep: %v, want the maximum depth exceeded", err)
	}
	b = b[:0]
	if err := codec.NewEncoderBytes(&b, RaftMsgpackHandle).Encode(deep(50)); err != nil {
		t.Fatal(err)
	}
	if err := codec.NewDecoderBytes(b, WireMsgpackHandle).Decode(&out); err != nil {
		t.Fatalf("decoding a body nested 50 deep: %v", err)
	}
	// The same through an allocation's job, as a client's status update
	// carries it.
	alloc := &Allocation{ID: "a", Job: deep(5000).Job}
	b = b[:0]
	if err := codec.NewEncoderBytes(&b, RaftMsgpackHandle).Encode(alloc); err != nil {
		t.Fatal(err)
	}
	var a Allocation
	if err := codec.NewDecoderBytes(b, WireMsgpackHandle).Decode(&a); err == nil || !strings.Contains(err.Error(), "maximum decoding depth") {
		t.Fatalf("decoding an allocation nested 5000 deep: %v, want the maximum depth exceeded", err)
	}
}

// codecCmpOpts compare decoded values: times by instant and location name
// (a decoded time's location is UTC).
var codecCmpOpts = []cmp.Option{
	cmp.Exporter(func(reflect.Type) bool { return true }),
}

// filler makes random values with every field set (nil at 1 in nilOdds
// for pointers, slices and maps; some empty ones too).
type filler struct {
	r       *rand.Rand
	nilOdds int
	depth   int
}

func newFiller(seed uint64) *filler {
	return &filler{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), nilOdds: 8}
}

func (f *filler) value(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	f.fill(v)
	return v
}

var (
	durationType = reflect.TypeFor[time.Duration]()
)

func (f *filler) str() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABC-_.0123456789 é"
	n := f.r.IntN(12)
	if f.r.IntN(40) == 0 {
		n = 32 + f.r.IntN(20) // past the fixstr size
	}
	rs := []rune(letters)
	var b strings.Builder
	for range n {
		b.WriteRune(rs[f.r.IntN(len(rs))])
	}
	return b.String()
}

func (f *filler) int64() int64 {
	switch f.r.IntN(5) {
	case 0:
		return 0
	case 1:
		return int64(f.r.IntN(128))
	case 2:
		return -int64(f.r.IntN(40))
	case 3:
		return int64(f.r.Uint64())
	default:
		return int64(f.r.IntN(1 << 20))
	}
}

func (f *filler) fill(v reflect.Value) {
	t := v.Type()
	if t == timeType {
		if f.r.IntN(4) != 0 {
			v.Set(reflect.ValueOf(time.Unix(int64(f.r.IntN(2e9)), int64(f.r.IntN(1e9))).UTC()))
		}
		return
	}
	if t == nodeScoresType { // a map on the wire: names unique, in its order
		var m map[string]float64
		f.fill(reflect.ValueOf(&m).Elem())
		if m != nil {
			v.Set(reflect.ValueOf(NodeScoresOf(m)))
		}
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := f.int64()
		if t != durationType && t.Kind() != reflect.Int64 && t.Kind() != reflect.Int {
			n = n % (1 << (t.Bits() - 1))
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n := uint64(f.int64())
		if t.Bits() < 64 {
			n %= 1 << t.Bits()
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		v.SetFloat([]float64{0, 0.5, -1.25, 1e300, float64(f.r.IntN(100)) / 7}[f.r.IntN(5)])
		if t.Kind() == reflect.Float32 {
			v.SetFloat(float64(float32(v.Float())))
		}
	case reflect.String:
		v.SetString(f.str())
	case reflect.Pointer:
		if f.r.IntN(f.nilOdds) == 0 || f.depth > 7 {
			return
		}
		p := reflect.New(t.Elem())
		f.depth++
		f.fill(p.Elem())
		f.depth--
		v.Set(p)
	case reflect.Slice:
		if f.r.IntN(f.nilOdds) == 0 || f.depth > 7 {
			return
		}
		n := f.r.IntN(4)
		s := reflect.MakeSlice(t, n, n)
		f.depth++
		for i := range n {
			f.fill(s.Index(i))
		}
		f.depth--
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i))
		}
	case reflect.Map:
		if f.r.IntN(f.nilOdds) == 0 || f.depth > 7 {
			return
		}
		n := f.r.IntN(5)
		m := reflect.MakeMapWithSize(t, n)
		f.depth++
		for range n {
			k := reflect.New(t.Key()).Elem()
			f.fill(k)
			e := reflect.New(t.Elem()).Elem()
			f.fill(e)
			m.SetMapIndex(k, e)
		}
		f.depth--
		v.Set(m)
	case reflect.Interface:
		if a := f.any(0); a != nil {
			v.Set(reflect.ValueOf(a))
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				f.fill(v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("filler: no values for %v", t))
	}
}

// any returns a value as an interface field decodes it: maps as
// map[string]any, arrays as []any, non-negative integers as uint64 and
// negative ones as int64.
func (f *filler) any(depth int) any {
	k := f.r.IntN(9)
	if depth > 3 {
		k %= 6
	}
	switch k {
	case 0:
		return f.str()
	case 1:
		return uint64(f.r.IntN(1 << 30))
	case 2:
		return -int64(1 + f.r.IntN(1<<30))
	case 3:
		return float64(f.r.IntN(1000)) / 8
	case 4:
		return f.r.IntN(2) == 0
	case 5:
		return nil
	case 6, 7:
		m := map[string]any{}
		for range f.r.IntN(4) {
			m[f.str()] = f.any(depth + 1)
		}
		return m
	default:
		s := []any{}
		for range f.r.IntN(4) {
			s = append(s, f.any(depth+1))
		}
		return s
	}
}

// codecMirror builds, for each struct type, a type of the same fields
// without methods (reflect.StructOf, recursively), and converts values
// between the two: the reflective codec encodes a mirror as it encoded
// the struct before generated codecs existed. Allocation and AllocMetric
// encode through their plain types (their own Selfers unpack first);
// NodeScores keeps its own Selfer.
type codecMirror struct {
	types map[reflect.Type]reflect.Type
}

func newCodecMirror() *codecMirror { return &codecMirror{types: map[reflect.Type]reflect.Type{}} }

var (
	allocType       = reflect.TypeFor[Allocation]()
	allocMetricType = reflect.TypeFor[AllocMetric]()
	nodeScoresType  = reflect.TypeFor[NodeScores]()
)

func basicType(k reflect.Kind) reflect.Type {
	switch k {
	case reflect.Bool:
		return reflect.TypeFor[bool]()
	case reflect.Int:
		return reflect.TypeFor[int]()
	case reflect.Int8:
		return reflect.TypeFor[int8]()
	case reflect.Int16:
		return reflect.TypeFor[int16]()
	case reflect.Int32:
		return reflect.TypeFor[int32]()
	case reflect.Int64:
		return reflect.TypeFor[int64]()
	case reflect.Uint:
		return reflect.TypeFor[uint]()
	case reflect.Uint8:
		return reflect.TypeFor[uint8]()
	case reflect.Uint16:
		return reflect.TypeFor[uint16]()
	case reflect.Uint32:
		return reflect.TypeFor[uint32]()
	case reflect.Uint64:
		return reflect.TypeFor[uint64]()
	case reflect.Float32:
		return reflect.TypeFor[float32]()
	case reflect.Float64:
		return reflect.TypeFor[float64]()
	case reflect.String:
		return reflect.TypeFor[string]()
	}
	return nil
}

func (m *codecMirror) typ(t reflect.Type) reflect.Type {
	if mt, ok := m.types[t]; ok {
		return mt
	}
	var mt reflect.Type
	switch {
	case t == timeType || t == durationType || t == nodeScoresType || t.Kind() == reflect.Interface:
		mt = t
	case t == allocType:
		mt = m.typ(reflect.TypeFor[plainAllocation]())
	case t == allocMetricType:
		mt = m.typ(reflect.TypeFor[plainAllocMetric]())
	case t.Kind() == reflect.Pointer:
		mt = reflect.PointerTo(m.typ(t.Elem()))
	case t.Kind() == reflect.Slice:
		mt = reflect.SliceOf(m.typ(t.Elem()))
	case t.Kind() == reflect.Array:
		mt = reflect.ArrayOf(t.Len(), m.typ(t.Elem()))
	case t.Kind() == reflect.Map:
		mt = reflect.MapOf(m.typ(t.Key()), m.typ(t.Elem()))
	case t.Kind() == reflect.Struct:
		var fields []reflect.StructField
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			if sf.Anonymous {
				panic(fmt.Sprintf("codecMirror: %v embeds %v: mirror embedded fields first", t, sf.Type))
			}
			fields = append(fields, reflect.StructField{Name: sf.Name, Type: m.typ(sf.Type), Tag: sf.Tag})
		}
		mt = reflect.StructOf(fields)
	default:
		mt = basicType(t.Kind())
		if mt == nil {
			panic(fmt.Sprintf("codecMirror: no mirror for %v", t))
		}
	}
	m.types[t] = mt
	return mt
}

// toMirror returns v's value as its mirror type.
func (m *codecMirror) toMirror(v reflect.Value) reflect.Value {
	t := v.Type()
	mt := m.typ(t)
	if mt == t {
		return v
	}
	out := reflect.New(mt).Elem()
	switch t.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			out.Set(m.toMirror(v.Elem()).Addr())
		}
	case reflect.Slice:
		if !v.IsNil() {
			out.Set(reflect.MakeSlice(mt, v.Len(), v.Len()))
			for i := range v.Len() {
				out.Index(i).Set(m.toMirror(v.Index(i)))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(m.toMirror(v.Index(i)))
		}
	case reflect.Map:
		if !v.IsNil() {
			out.Set(reflect.MakeMapWithSize(mt, v.Len()))
			for it := v.MapRange(); it.Next(); {
				out.SetMapIndex(m.toMirror(it.Key()), m.toMirror(it.Value()))
			}
		}
	case reflect.Struct:
		switch t {
		case allocType:
			a := v.Addr().Interface().(*Allocation).unpacked()
			v = reflect.ValueOf((*plainAllocation)(a)).Elem()
		case allocMetricType:
			a := v.Addr().Interface().(*AllocMetric).unpacked()
			v = reflect.ValueOf((*plainAllocMetric)(a)).Elem()
		}
		for i := range mt.NumField() {
			out.Field(i).Set(m.toMirror(v.FieldByName(mt.Field(i).Name)))
		}
	default:
		out.Set(v.Convert(mt))
	}
	return out
}

// fromMirror returns mv, a value of m.typ(t), as a value of t.
func (m *codecMirror) fromMirror(mv reflect.Value, t reflect.Type) reflect.Value {
	if mv.Type() == t {
		return mv
	}
	out := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Pointer:
		if !mv.IsNil() {
			out.Set(m.fromMirror(mv.Elem(), t.Elem()).Addr())
		}
	case reflect.Slice:
		if !mv.IsNil() {
			out.Set(reflect.MakeSlice(t, mv.Len(), mv.Len()))
			for i := range mv.Len() {
				out.Index(i).Set(m.fromMirror(mv.Index(i), t.Elem()))
			}
		}
	case reflect.Array:
		for i := range mv.Len() {
			out.Index(i).Set(m.fromMirror(mv.Index(i), t.Elem()))
		}
	case reflect.Map:
		if !mv.IsNil() {
			out.Set(reflect.MakeMapWithSize(t, mv.Len()))
			for it := mv.MapRange(); it.Next(); {
				out.SetMapIndex(m.fromMirror(it.Key(), t.Key()), m.fromMirror(it.Value(), t.Elem()))
			}
		}
	case reflect.Struct:
		for i := range mv.NumField() {
			name := mv.Type().Field(i).Name
			f := out.FieldByName(name)
			f.Set(m.fromMirror(mv.Field(i), f.Type()))
		}
	default:
		out.Set(mv.Convert(t))
	}
	return out
}

// sortedMsgpack returns b, one msgpack value, with every map's entries
// sorted by their encoded keys; everything else byte for byte.
func sortedMsgpack(b []byte) ([]byte, error) {
	out, rest, err := sortedValue(b)
	if err == nil && len(rest) != 0 {
		err = fmt.Errorf("%d bytes after the value", len(rest))
	}
	return out, err
}

func sortedValue(b []byte) (out, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("truncated")
	}
	c := b[0]
	be := func(n int) (uint64, error) {
		if len(b) < 1+n {
			return 0, fmt.Errorf("truncated")
		}
		var u uint64
		for _, x := range b[1 : 1+n] {
			u = u<<8 | uint64(x)
		}
		return u, nil
	}
	scalar := func(n int) ([]byte, []byte, error) {
		if len(b) < n {
			return nil, nil, fmt.Errorf("truncated")
		}
		return b[:n], b[n:], nil
	}
	sized := func(lenBytes int, extra int) ([]byte, []byte, error) {
		n, err := be(lenBytes)
		if err != nil {
			return nil, nil, err
		}
		return scalar(1 + lenBytes + extra + int(n))
	}
	container := func(hdr int, n uint64, isMap bool) ([]byte, []byte, error) {
		if len(b) < hdr {
			return nil, nil, fmt.Errorf("truncated")
		}
		rest := b[hdr:]
		items := make([][]byte, 0, min(n, 1024))
		per := uint64(1)
		if isMap {
			per = 2
		}
		for range n * per {
			var item []byte
			var err error
			item, rest, err = sortedValue(rest)
			if err != nil {
				return nil, nil, err
			}
			items = append(items, item)
		}
		out := append([]byte(nil), b[:hdr]...)
		if isMap {
			pairs := make([][2][]byte, n)
			for i := range pairs {
				pairs[i] = [2][]byte{items[2*i], items[2*i+1]}
			}
			sort.SliceStable(pairs, func(i, j int) bool { return bytes.Compare(pairs[i][0], pairs[j][0]) < 0 })
			for _, p := range pairs {
				out = append(append(out, p[0]...), p[1]...)
			}
		} else {
			for _, it := range items {
				out = append(out, it...)
			}
		}
		return out, rest, nil
	}
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return scalar(1)
	case c >= 0x80 && c <= 0x8f:
		return container(1, uint64(c&0x0f), true)
	case c >= 0x90 && c <= 0x9f:
		return container(1, uint64(c&0x0f), false)
	case c >= 0xa0 && c <= 0xbf:
		return scalar(1 + int(c&0x1f))
	}
	switch c {
	case 0xc4, 0xd9:
		return sized(1, 0)
	case 0xc5, 0xda:
		return sized(2, 0)
	case 0xc6, 0xdb:
		return sized(4, 0)
	case 0xc7:
		return sized(1, 1)
	case 0xc8:
		return sized(2, 1)
	case 0xc9:
		return sized(4, 1)
	case 0xca:
		return scalar(5)
	case 0xcb:
		return scalar(9)
	case 0xcc, 0xd0:
		return scalar(2)
	case 0xcd, 0xd1:
		return scalar(3)
	case 0xce, 0xd2:
		return scalar(5)
	case 0xcf, 0xd3:
		return scalar(9)
	case 0xd4:
		return scalar(3)
	case 0xd5:
		return scalar(4)
	case 0xd6:
		return scalar(6)
	case 0xd7:
		return scalar(10)
	case 0xd8:
		return scalar(18)
	case 0xdc, 0xdd, 0xde, 0xdf:
		w := 2
		if c == 0xdd || c == 0xdf {
			w = 4
		}
		n, err := be(w)
		if err != nil {
			return nil, nil, err
		}
		return container(1+w, n, c >= 0xde)
	}
	return nil, nil, fmt.Errorf("unknown msgpack byte %#x", c)
}

// TestSortedMsgpack checks the map-sorting reader the golden test
// compares non-canonical encodings with.
func TestSortedMsgpack(t *testing.T) {
	v := map[string]any{"b": []any{map[string]any{"z": 1, "a": "x"}}, "a": 1.5, "c": map[string]any{}}
	for range 20 {
		var got []byte
		if err := codec.NewEncoderBytes(&got, RaftMsgpackHandle).Encode(v); err != nil {
			t.Fatal(err)
		}
		var want []byte
		if err := codec.NewEncoderBytes(&want, WireMsgpackHandle).Encode(v); err != nil {
			t.Fatal(err)
		}
		s, err := sortedMsgpack(got)
		if err != nil || !bytes.Equal(s, want) {
			t.Fatalf("sortedMsgpack(%x) = %x, %v; want %x", got, s, err, want)
		}
	}
}

// TestGeneratedCodecsCover: every struct the root types reach has a
// generated codec (one without falls back to reflection: correct, slower).
func TestGeneratedCodecsCover(t *testing.T) {
	selfer := reflect.TypeFor[codec.Selfer]()
	pkg := reflect.TypeFor[Job]().PkgPath()
	seen := map[reflect.Type]bool{}
	var missing []string
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		switch typ {
		case allocType:
			typ = reflect.TypeFor[plainAllocation]()
		case allocMetricType:
			typ = reflect.TypeFor[plainAllocMetric]()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != pkg || seen[typ] {
			return
		}
		seen[typ] = true
		if !reflect.PointerTo(typ).Implements(selfer) {
			missing = append(missing, typ.Name())
		}
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				walk(typ.Field(i).Type)
			}
		}
	}
	for _, r := range codecRoots {
		walk(r)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("structs without a generated codec: %s: add them to TYPES in codecgen.sh and run make codecgen", strings.Join(missing, ", "))
	}
}

// TestCodecSkipsUnknownFields: an entry written by a newer build, with a
// field this one lacks, still decodes (as the reflective codec did).
func TestCodecSkipsUnknownFields(t *testing.T) {
	for _, h := range codecHandles {
		var b []byte
		in := map[string]any{"ID": "web", "FieldOfANewerBuild": map[string]any{"x": []any{1, "y"}}, "Priority": 70,
			"TaskGroups": []any{map[string]any{"Name": "g", "Unknown": true, "Count": 3}}}
		if err := codec.NewEncoderBytes(&b, h.h).Encode(in); err != nil {
			t.Fatal(err)
		}
		var job Job
		if err := codec.NewDecoderBytes(b, h.h).Decode(&job); err != nil {
			t.Fatalf("%s handle: %v", h.name, err)
		}
		if job.ID != "web" || job.Priority != 70 || len(job.TaskGroups) != 1 || job.TaskGroups[0].Count != 3 {
			t.Fatalf("%s handle: decoded %+v", h.name, job)
		}
	}
}
