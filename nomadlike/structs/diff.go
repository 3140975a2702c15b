package structs

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DiffType says how an object or field changed between two versions.
type DiffType string

// Diff types, as Nomad names them on the wire.
const (
	DiffTypeNone    DiffType = "None"
	DiffTypeAdded   DiffType = "Added"
	DiffTypeDeleted DiffType = "Deleted"
	DiffTypeEdited  DiffType = "Edited"
)

// rank orders diff types for sorting: Edited, Added, Deleted, None.
func (d DiffType) rank() int {
	switch d {
	case DiffTypeEdited:
		return 0
	case DiffTypeAdded:
		return 1
	case DiffTypeDeleted:
		return 2
	}
	return 3
}

// JobDiff is the difference between two versions of a job, in the shape of
// Nomad's structs.JobDiff (the reply of job plan and of the versions endpoint).
type JobDiff struct {
	Type       DiffType
	ID         string
	Fields     []*FieldDiff
	Objects    []*ObjectDiff
	TaskGroups []*TaskGroupDiff
}

// TaskGroupDiff is the difference of one task group. Updates, filled by the
// scheduler's annotations in a plan, counts what the plan does to the group
// ("create", "destroy", "in-place update", "create/destroy update", ...).
type TaskGroupDiff struct {
	Type    DiffType
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
	Tasks   []*TaskDiff
	Updates map[string]uint64
}

// TaskDiff is the difference of one task. Annotations say what the change
// forces ("forces create/destroy update", "forces in-place update", ...).
type TaskDiff struct {
	Type        DiffType
	Name        string
	Fields      []*FieldDiff
	Objects     []*ObjectDiff
	Annotations []string
}

// FieldDiff is the change of one primitive value, rendered as a string.
type FieldDiff struct {
	Type        DiffType
	Name        string
	Old, New    string
	Annotations []string
}

// ObjectDiff is the change of a nested object (a restart policy, a
// constraint, a task's driver config, a list of datacenters, ...).
type ObjectDiff struct {
	Type    DiffType
	Name    string
	Fields  []*FieldDiff
	Objects []*ObjectDiff
}

// Fields that the server sets or that are diffed elsewhere, per level.
var (
	jobDiffFilter   = set("ID", "Status", "StatusDescription", "Version", "Stable", "SubmitTime", "CreateIndex", "ModifyIndex", "JobModifyIndex", "TaskGroups", "Payload")
	groupDiffFilter = set("Name", "Tasks")
	taskDiffFilter  = set("Name")
)

// singular names the objects of a list field as Nomad does ("Constraint"
// for each element of Constraints).
var singular = map[string]string{
	"Constraints": "Constraint", "Affinities": "Affinity", "Spreads": "Spread", "Networks": "Network",
	"Templates": "Template", "Artifacts": "Artifact", "ReservedPorts": "Static Port", "DynamicPorts": "Dynamic Port",
	"SpreadTarget": "SpreadTarget", "Devices": "Device", "Services": "Service",
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Diff returns the difference from j (the old version, nil for a new job)
// to other (the new version, nil for a removed job). Server-set fields
// (versions, indexes, status, submit time) are ignored. With contextual set,
// a changed object lists its unchanged fields too (Type "None"), as job plan
// shows them. Task groups and tasks are matched by name.
func (j *Job) Diff(other *Job, contextual bool) (*JobDiff, error) {
	diff := &JobDiff{Type: DiffTypeNone}
	switch {
	case j == nil && other == nil:
		return diff, nil
	case j == nil:
		diff.ID, diff.Type = other.ID, DiffTypeAdded
	case other == nil:
		diff.ID, diff.Type = j.ID, DiffTypeDeleted
	default:
		if j.ID != other.ID {
			return nil, NewBadRequest("cannot diff jobs with different IDs: %q and %q", j.ID, other.ID)
		}
		diff.ID = other.ID
	}
	oldV, newV := structValue(j), structValue(other)
	diff.Fields = fieldDiffs(primitives(oldV, jobDiffFilter), primitives(newV, jobDiffFilter), false)
	diff.Objects = objectDiffs(oldV, newV, jobDiffFilter, contextual)

	var oldGroups, newGroups []*TaskGroup
	if j != nil {
		oldGroups = j.TaskGroups
	}
	if other != nil {
		newGroups = other.TaskGroups
	}
	for _, name := range unionNames(groupNames(oldGroups), groupNames(newGroups)) {
		var a, b *TaskGroup
		if j != nil {
			a = j.LookupTaskGroup(name)
		}
		if other != nil {
			b = other.LookupTaskGroup(name)
		}
		diff.TaskGroups = append(diff.TaskGroups, a.Diff(b, contextual))
	}
	if diff.Type == DiffTypeNone && (changed(diff.Fields, diff.Objects) || groupsChanged(diff.TaskGroups)) {
		diff.Type = DiffTypeEdited
	}
	return diff, nil
}

// Diff returns the difference from tg (nil when added) to other (nil when deleted).
func (tg *TaskGroup) Diff(other *TaskGroup, contextual bool) *TaskGroupDiff {
	diff := &TaskGroupDiff{Type: DiffTypeNone}
	switch {
	case tg == nil && other == nil:
		return diff
	case tg == nil:
		diff.Name, diff.Type = other.Name, DiffTypeAdded
	case other == nil:
		diff.Name, diff.Type = tg.Name, DiffTypeDeleted
	default:
		diff.Name = other.Name
	}
	oldV, newV := structValue(tg), structValue(other)
	diff.Fields = fieldDiffs(primitives(oldV, groupDiffFilter), primitives(newV, groupDiffFilter), false)
	diff.Objects = objectDiffs(oldV, newV, groupDiffFilter, contextual)
	var oldTasks, newTasks []*Task
	if tg != nil {
		oldTasks = tg.Tasks
	}
	if other != nil {
		newTasks = other.Tasks
	}
	for _, name := range unionNames(taskNames(oldTasks), taskNames(newTasks)) {
		var a, b *Task
		if tg != nil {
			a = tg.LookupTask(name)
		}
		if other != nil {
			b = other.LookupTask(name)
		}
		diff.Tasks = append(diff.Tasks, a.Diff(b, contextual))
	}
	if diff.Type == DiffTypeNone && changed(diff.Fields, diff.Objects) {
		diff.Type = DiffTypeEdited
	}
	if diff.Type == DiffTypeNone {
		for _, t := range diff.Tasks {
			if t.Type != DiffTypeNone {
				diff.Type = DiffTypeEdited
				break
			}
		}
	}
	return diff
}

// Diff returns the difference from t (nil when added) to other (nil when deleted).
func (t *Task) Diff(other *Task, contextual bool) *TaskDiff {
	diff := &TaskDiff{Type: DiffTypeNone}
	switch {
	case t == nil && other == nil:
		return diff
	case t == nil:
		diff.Name, diff.Type = other.Name, DiffTypeAdded
	case other == nil:
		diff.Name, diff.Type = t.Name, DiffTypeDeleted
	default:
		diff.Name = other.Name
	}
	oldV, newV := structValue(t), structValue(other)
	diff.Fields = fieldDiffs(primitives(oldV, taskDiffFilter), primitives(newV, taskDiffFilter), false)
	diff.Objects = objectDiffs(oldV, newV, taskDiffFilter, contextual)
	if diff.Type == DiffTypeNone && changed(diff.Fields, diff.Objects) {
		diff.Type = DiffTypeEdited
	}
	return diff
}

// IsEmpty reports whether the diff records no change at all.
func (d *JobDiff) IsEmpty() bool { return d == nil || d.Type == DiffTypeNone }

func changed(fields []*FieldDiff, objects []*ObjectDiff) bool {
	for _, f := range fields {
		if f.Type != DiffTypeNone {
			return true
		}
	}
	for _, o := range objects {
		if o.Type != DiffTypeNone {
			return true
		}
	}
	return false
}

func groupsChanged(groups []*TaskGroupDiff) bool {
	for _, g := range groups {
		if g.Type != DiffTypeNone {
			return true
		}
	}
	return false
}

func groupNames(groups []*TaskGroup) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if g != nil {
			out = append(out, g.Name)
		}
	}
	return out
}

func taskNames(tasks []*Task) []string {
	out := make([]string, 0, len(tasks))
	for _, t := range tasks {
		if t != nil {
			out = append(out, t.Name)
		}
	}
	return out
}

// unionNames returns the sorted, de-duplicated union of a and b.
func unionNames(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// structValue returns the struct p points to, or an invalid Value for nil.
func structValue(p any) reflect.Value {
	v := reflect.ValueOf(p)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return reflect.Value{}
	}
	return reflect.Indirect(v)
}

// isPrimitive reports whether values of t are rendered as one string.
func isPrimitive(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Pointer:
		return isPrimitive(t.Elem())
	}
	return false
}

// isPrimitiveMap reports whether t is a map of primitives (Meta, Env),
// flattened into the parent's fields as "Meta[key]".
func isPrimitiveMap(t reflect.Type) bool {
	return t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && isPrimitive(t.Elem())
}

// primitives flattens the primitive fields of struct v (and its maps of
// primitives) into name -> value, skipping filtered names. v may be invalid
// (a nil object), which yields nil.
func primitives(v reflect.Value, filter map[string]bool) map[string]string {
	if !v.IsValid() {
		return nil
	}
	out := map[string]string{}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || filter[f.Name] {
			continue
		}
		fv := v.Field(i)
		switch {
		case isPrimitive(f.Type):
			out[f.Name] = render(fv)
		case isPrimitiveMap(f.Type):
			for it := fv.MapRange(); it.Next(); {
				out[fmt.Sprintf("%s[%s]", f.Name, it.Key().String())] = render(it.Value())
			}
		}
	}
	return out
}

// render formats a primitive value as Nomad's flatmap does (durations as
// nanoseconds, nil pointers as "").
func render(v reflect.Value) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.String:
		return v.String()
	}
	return fmt.Sprintf("%v", v.Interface())
}

// fieldDiffs compares two flattened field sets, sorted by name. With
// contextual set, unchanged fields are listed with Type None.
func fieldDiffs(old, new map[string]string, contextual bool) []*FieldDiff {
	names := make([]string, 0, len(old)+len(new))
	for k := range old {
		names = append(names, k)
	}
	for k := range new {
		names = append(names, k)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var out []*FieldDiff
	for _, n := range names {
		if d := fieldDiff(old[n], new[n], n, contextual); d != nil {
			out = append(out, d)
		}
	}
	return out
}

func fieldDiff(old, new, name string, contextual bool) *FieldDiff {
	d := &FieldDiff{Type: DiffTypeNone, Name: name}
	switch {
	case old == new:
		if !contextual {
			return nil
		}
		d.Old, d.New = old, new
	case old == "":
		d.Type, d.New = DiffTypeAdded, new
	case new == "":
		d.Type, d.Old = DiffTypeDeleted, old
	default:
		d.Type, d.Old, d.New = DiffTypeEdited, old, new
	}
	return d
}

// objectDiffs diffs the non-primitive fields of two structs of one type
// (either may be invalid, for an added or deleted parent).
func objectDiffs(oldV, newV reflect.Value, filter map[string]bool, contextual bool) []*ObjectDiff {
	t := oldV
	if !t.IsValid() {
		t = newV
	}
	if !t.IsValid() {
		return nil
	}
	typ := t.Type()
	var out []*ObjectDiff
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() || filter[f.Name] || isPrimitive(f.Type) || isPrimitiveMap(f.Type) {
			continue
		}
		var a, b reflect.Value
		if oldV.IsValid() {
			a = oldV.Field(i)
		}
		if newV.IsValid() {
			b = newV.Field(i)
		}
		out = append(out, valueDiffs(f.Name, f.Type, a, b, contextual)...)
	}
	sortObjects(out)
	return out
}

// valueDiffs diffs one non-primitive field: a list of primitives becomes one
// object listing the elements added and removed; a list of objects becomes
// one object per element added or removed; a struct, one object; a map of
// arbitrary values (driver config), one object of flattened fields.
func valueDiffs(name string, typ reflect.Type, a, b reflect.Value, contextual bool) []*ObjectDiff {
	switch typ.Kind() {
	case reflect.Slice, reflect.Array:
		if typ.Elem().Kind() == reflect.Uint8 {
			return nil // raw bytes (payloads) are not diffed
		}
		if isPrimitive(typ.Elem()) {
			if d := stringSetDiff(name, a, b, contextual); d != nil {
				return []*ObjectDiff{d}
			}
			return nil
		}
		elemName := singular[name]
		if elemName == "" {
			elemName = strings.TrimSuffix(name, "s")
		}
		return objectSetDiff(elemName, a, b, contextual)
	case reflect.Pointer, reflect.Struct:
		if d := structDiff(name, indirect(a), indirect(b), contextual); d != nil {
			return []*ObjectDiff{d}
		}
	case reflect.Map, reflect.Interface:
		if d := flatDiff(name, a, b, contextual); d != nil {
			return []*ObjectDiff{d}
		}
	}
	return nil
}

func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// structDiff diffs two structs of one type; invalid means absent.
func structDiff(name string, a, b reflect.Value, contextual bool) *ObjectDiff {
	if !a.IsValid() && !b.IsValid() {
		return nil
	}
	d := &ObjectDiff{Type: DiffTypeEdited, Name: name}
	switch {
	case !a.IsValid():
		d.Type = DiffTypeAdded
	case !b.IsValid():
		d.Type = DiffTypeDeleted
	}
	d.Fields = fieldDiffs(primitives(a, nil), primitives(b, nil), contextual)
	d.Objects = objectDiffs(a, b, nil, contextual)
	if d.Type == DiffTypeEdited && !changed(d.Fields, d.Objects) {
		return nil
	}
	return d
}

// stringSetDiff diffs two lists of primitives as sets (Datacenters).
func stringSetDiff(name string, a, b reflect.Value, contextual bool) *ObjectDiff {
	oldSet, newSet := primitiveList(a), primitiveList(b)
	d := &ObjectDiff{Type: DiffTypeNone, Name: name}
	added, deleted := 0, 0
	for _, v := range unionNames(oldSet, newSet) {
		inOld, inNew := slices.Contains(oldSet, v), slices.Contains(newSet, v)
		switch {
		case inOld && inNew:
			if contextual {
				d.Fields = append(d.Fields, &FieldDiff{Type: DiffTypeNone, Name: name, Old: v, New: v})
			}
		case inOld:
			deleted++
			d.Fields = append(d.Fields, &FieldDiff{Type: DiffTypeDeleted, Name: name, Old: v})
		default:
			added++
			d.Fields = append(d.Fields, &FieldDiff{Type: DiffTypeAdded, Name: name, New: v})
		}
	}
	switch {
	case added == 0 && deleted == 0:
		return nil
	case len(oldSet) == 0:
		d.Type = DiffTypeAdded
	case len(newSet) == 0:
		d.Type = DiffTypeDeleted
	default:
		d.Type = DiffTypeEdited
	}
	return d
}

func primitiveList(v reflect.Value) []string {
	if !v.IsValid() {
		return nil
	}
	out := make([]string, v.Len())
	for i := range v.Len() {
		out[i] = render(v.Index(i))
	}
	return out
}

// objectSetDiff diffs two lists of objects as sets: elements present in
// both (equal after flattening) are unchanged, the others are deleted or
// added, as Nomad diffs constraints.
func objectSetDiff(name string, a, b reflect.Value, contextual bool) []*ObjectDiff {
	type elem struct {
		v   reflect.Value
		key string
	}
	list := func(v reflect.Value) []elem {
		if !v.IsValid() {
			return nil
		}
		var out []elem
		for i := range v.Len() {
			e := indirect(v.Index(i))
			if !e.IsValid() {
				continue
			}
			out = append(out, elem{v: e, key: flatKey(e)})
		}
		return out
	}
	oldList, newList := list(a), list(b)
	var out []*ObjectDiff
	for _, o := range oldList {
		if !slices.ContainsFunc(newList, func(n elem) bool { return n.key == o.key }) {
			if d := elementDiff(name, o.v, reflect.Value{}, contextual); d != nil {
				out = append(out, d)
			}
		}
	}
	for _, n := range newList {
		if !slices.ContainsFunc(oldList, func(o elem) bool { return o.key == n.key }) {
			if d := elementDiff(name, reflect.Value{}, n.v, contextual); d != nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// elementDiff diffs one element of a list: a struct or an arbitrary value.
func elementDiff(name string, a, b reflect.Value, contextual bool) *ObjectDiff {
	v := a
	if !v.IsValid() {
		v = b
	}
	if v.Kind() == reflect.Struct {
		return structDiff(name, a, b, contextual)
	}
	return flatDiff(name, a, b, contextual)
}

// flatKey renders v completely, to compare list elements as set members.
func flatKey(v reflect.Value) string {
	m := map[string]string{}
	flatten("", v, m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%q;", k, m[k])
	}
	return sb.String()
}

// flatDiff diffs two arbitrary values (a driver config) by flattening them
// completely: "args[0]", "port_map[http]", "mount[0].source".
func flatDiff(name string, a, b reflect.Value, contextual bool) *ObjectDiff {
	oldFlat, newFlat := map[string]string{}, map[string]string{}
	flatten("", a, oldFlat)
	flatten("", b, newFlat)
	if len(oldFlat) == 0 && len(newFlat) == 0 {
		return nil
	}
	d := &ObjectDiff{Type: DiffTypeEdited, Name: name}
	switch {
	case len(oldFlat) == 0:
		d.Type = DiffTypeAdded
	case len(newFlat) == 0:
		d.Type = DiffTypeDeleted
	}
	d.Fields = fieldDiffs(oldFlat, newFlat, contextual)
	if d.Type == DiffTypeEdited && !changed(d.Fields, nil) {
		return nil
	}
	return d
}

// flatten writes every leaf of v into out under Nomad's flatmap names.
func flatten(prefix string, v reflect.Value, out map[string]string) {
	v = indirect(v)
	if !v.IsValid() {
		return
	}
	sub := func(key string) string {
		if prefix == "" {
			return key
		}
		return fmt.Sprintf("%s[%s]", prefix, key)
	}
	switch v.Kind() {
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			flatten(sub(render(it.Key())), it.Value(), out)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			out[prefix] = string(v.Bytes())
			return
		}
		for i := range v.Len() {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), v.Index(i), out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			name := t.Field(i).Name
			if prefix != "" {
				name = prefix + "." + name
			}
			flatten(name, v.Field(i), out)
		}
	default:
		out[prefix] = render(v)
	}
}

// sortObjects orders objects by name, then type, then content, so that
// diffs are stable.
func sortObjects(objs []*ObjectDiff) {
	slices.SortStableFunc(objs, func(a, b *ObjectDiff) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := a.Type.rank() - b.Type.rank(); c != 0 {
			return c
		}
		return strings.Compare(objectKey(a), objectKey(b))
	})
}

func objectKey(o *ObjectDiff) string {
	var sb strings.Builder
	for _, f := range o.Fields {
		fmt.Fprintf(&sb, "%s=%q>%q;", f.Name, f.Old, f.New)
	}
	return sb.String()
}

// VersionDiffs returns the diffs between consecutive versions, newest first
// as GET /v1/job/{id}/versions lists them: diffs[i] goes from versions[i+1]
// to versions[i], contextual as Nomad's versions endpoint.
func VersionDiffs(versions []*Job) ([]*JobDiff, error) {
	if len(versions) < 2 {
		return []*JobDiff{}, nil
	}
	diffs := make([]*JobDiff, 0, len(versions)-1)
	for i := 0; i+1 < len(versions); i++ {
		d, err := versions[i+1].Diff(versions[i], true)
		if err != nil {
			return nil, fmt.Errorf("diff versions %d and %d of job %q: %w", versions[i+1].Version, versions[i].Version, versions[i].ID, err)
		}
		diffs = append(diffs, d)
	}
	return diffs, nil
}

// JobPlanRequest is the body of PUT /v1/job/{id}/plan: the job to dry-run
// and whether to return its diff against the current version.
type JobPlanRequest struct {
	Job            *Job
	Diff           bool
	PolicyOverride bool `json:",omitempty"`
}

// JobPlanResponse is the reply of PUT /v1/job/{id}/plan, in Nomad's shape.
// JobModifyIndex is the current version's index (0 for a new job): passing
// it to `job run -check-index` registers only if nothing changed meanwhile.
type JobPlanResponse struct {
	Annotations        *PlanAnnotations
	FailedTGAllocs     map[string]*AllocMetric
	JobModifyIndex     uint64
	CreatedEvals       []*Evaluation
	Diff               *JobDiff
	NextPeriodicLaunch time.Time
	Warnings           string
	Index              uint64
}

// JobVersionsResponse is the reply of GET /v1/job/{id}/versions: the kept
// versions, newest first, and with ?diffs=true the diff of each version
// against the one before it (Diffs[i] from Versions[i+1] to Versions[i]).
type JobVersionsResponse struct {
	Versions []*Job
	Diffs    []*JobDiff
	Index    uint64 `json:",omitempty"`
}

// JobRevertRequest is the body of PUT /v1/job/{id}/revert: register again
// the spec of version JobVersion. With EnforcePriorVersion set, the revert
// happens only if the current version is that one.
type JobRevertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64 `json:",omitempty"`
	Namespace           string  `json:",omitempty"`
}

// JobStabilityRequest is the body of PUT /v1/job/{id}/stable and the Raft
// entry that marks one version of a job stable (or not).
type JobStabilityRequest struct {
	JobID      string
	JobVersion uint64
	Stable     bool
	Namespace  string `json:",omitempty"`
}

// JobStabilityResponse is the reply of PUT /v1/job/{id}/stable.
type JobStabilityResponse struct {
	JobModifyIndex uint64
	Index          uint64
}
