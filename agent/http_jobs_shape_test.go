package agent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// refJob, refGroup and refCount are jobShape read by encoding/json, the way
// decodeJobBody read it before jobShapeOf (a second decode of the body),
// with the group's Count and Scaling keys its UnmarshalJSON read.
type refJob struct {
	Periodic, Update    *setKeys
	Reschedule, Migrate json.RawMessage
	TaskGroups          []refGroup
}

type refGroup struct {
	Update, ReschedulePolicy, Migrate, RestartPolicy, EphemeralDisk *setKeys
	Tasks                                                           []taskShape
	Count                                                           refCount
	Scaling                                                         *struct{ Min, Max, Enabled jsonSet }
}

type refCount struct{ last, any bool }

func (c *refCount) UnmarshalJSON(b []byte) error {
	c.last = string(b) != "null"
	c.any = c.any || c.last
	return nil
}

func (r *refJob) shape() *jobShape {
	if r == nil {
		return nil
	}
	out := &jobShape{Periodic: r.Periodic, Update: r.Update, Reschedule: r.Reschedule, Migrate: r.Migrate}
	if r.TaskGroups != nil {
		out.TaskGroups = []groupShape{}
	}
	for _, g := range r.TaskGroups {
		gs := groupShape{Update: g.Update, ReschedulePolicy: g.ReschedulePolicy, Migrate: g.Migrate,
			RestartPolicy: g.RestartPolicy, EphemeralDisk: g.EphemeralDisk, Tasks: g.Tasks,
			JSON: structs.GroupJSONKeys{Count: g.Count.last, AnyCount: g.Count.any}}
		if g.Scaling != nil {
			gs.JSON.Scaling = &structs.ScalingJSONKeys{Min: bool(g.Scaling.Min), Max: bool(g.Scaling.Max), Enabled: bool(g.Scaling.Enabled)}
		}
		out.TaskGroups = append(out.TaskGroups, gs)
	}
	return out
}

// TestJobShapeOfMatchesDecode checks jobShapeOf's one pass against
// encoding/json's decode of the same keys, over random bodies: keys in any
// case, escaped, folded (the Kelvin sign is a K) or given twice, null
// blocks and elements, strings holding quotes, brackets and backslashes,
// other keys with nested values, and any whitespace.
func TestJobShapeOfMatchesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 17))
	ws := func() string { return []string{"", "", " ", "\n\t ", "\r\n"}[rng.IntN(5)] }
	spell := func(name string) string {
		switch rng.IntN(8) {
		case 0:
			return strings.ToLower(name)
		case 1:
			return strings.ToUpper(name)
		case 2: // the first letter escaped
			return fmt.Sprintf(`\u%04x`, name[0]) + name[1:]
		case 3:
			return strings.NewReplacer("K", "\u212a", "k", "\u212a", "S", "\u017f", "s", "\u017f").Replace(name)
		}
		return name
	}
	var value func(depth int) string
	value = func(depth int) string {
		switch n := rng.IntN(9); {
		case n == 0 || depth > 2:
			return []string{`null`, `true`, `false`, `-1.5e3`, `0`, `"x"`, `"a\"}]\\"`, `"\\"`, `""`}[rng.IntN(9)]
		case n < 4:
			var parts []string
			for range rng.IntN(3) {
				parts = append(parts, ws()+value(depth+1)+ws())
			}
			return "[" + strings.Join(parts, ",") + "]"
		default:
			var parts []string
			for range rng.IntN(3) {
				parts = append(parts, fmt.Sprintf(`%s"%s"%s:%s%s`, ws(), []string{"Name", "Config", `x\\\"y`, "{", "Job"}[rng.IntN(5)], ws(), ws(), value(depth+1)))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
	}
	object := func(keys []string, val func(key string) string) string {
		var parts []string
		for range rng.IntN(len(keys) + 3) {
			k := keys[rng.IntN(len(keys))]
			parts = append(parts, fmt.Sprintf(`%s"%s"%s:%s%s`, ws(), spell(k), ws(), ws(), val(k)))
			if rng.IntN(4) == 0 {
				parts = append(parts, fmt.Sprintf(`"Other%d":%s`, rng.IntN(3), value(0)))
			}
		}
		return "{" + strings.Join(parts, ",") + ws() + "}"
	}
	orNull := func(f func() string) string {
		if rng.IntN(5) == 0 {
			return "null"
		}
		return f()
	}
	scalar := func() string { return []string{"null", "1", "0", `"s"`, "true"}[rng.IntN(5)] }
	block := func() string {
		return orNull(func() string {
			return object([]string{"Stagger", "MaxParallel", "Attempts", "Mode", "SizeMB", "Enabled", "TimeZone", "Spec"}, func(string) string { return scalar() })
		})
	}
	list := func(elem func() string) string {
		return orNull(func() string {
			var parts []string
			for range rng.IntN(4) {
				parts = append(parts, ws()+orNull(elem)+ws())
			}
			return "[" + strings.Join(parts, ",") + "]"
		})
	}
	task := func() string {
		return object([]string{"Name", "KillTimeout", "Config"}, func(k string) string {
			if k == "Config" {
				return value(0)
			}
			return scalar()
		})
	}
	group := func() string {
		return object([]string{"Update", "ReschedulePolicy", "Migrate", "RestartPolicy", "EphemeralDisk", "Tasks", "Count", "Scaling", "Name"}, func(k string) string {
			switch k {
			case "Tasks":
				return list(task)
			case "Count", "Name":
				return scalar()
			case "Scaling":
				return orNull(func() string {
					return object([]string{"Min", "Max", "Enabled", "Policy"}, func(string) string { return scalar() })
				})
			}
			return block()
		})
	}
	job := func() string {
		return object([]string{"Periodic", "Update", "Reschedule", "Migrate", "TaskGroups", "ID"}, func(k string) string {
			switch k {
			case "TaskGroups":
				return list(group)
			case "Reschedule", "Migrate":
				return value(0)
			case "ID":
				return scalar()
			}
			return block()
		})
	}
	for range 20000 {
		body := object([]string{"Job", "EnforceIndex"}, func(k string) string {
			if k == "Job" {
				return orNull(job)
			}
			return scalar()
		})
		body = ws() + body + ws()
		var ref struct{ Job *refJob }
		if err := json.Unmarshal([]byte(body), &ref); err != nil {
			t.Fatalf("test body %s: %v", body, err)
		}
		got, err := jobShapeOf([]byte(body))
		if err != nil {
			t.Fatalf("body %s: %v", body, err)
		}
		if want := ref.Job.shape(); !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Fatalf("body %s:\ngot  %s\nwant %s", body, g, w)
		}
	}
}

// TestJobShapeOfRefusesBrokenJSON: the walk meets only bodies the typed
// decode accepted, but a broken one is an error, never a panic.
func TestJobShapeOfRefusesBrokenJSON(t *testing.T) {
	for _, body := range []string{`{"Job":{"TaskGroups":[{"Count":1`, `{"Job":{"Update":{"Stagger":"\"}`, `{"Job":`, `{"Job":{"TaskGroups":[{]}}`, `{"Job" 1}`, `{"Job":{"Update":{"a":1 "b":2}}}`} {
		if _, err := jobShapeOf([]byte(body)); err == nil {
			t.Errorf("body %s: no error", body)
		}
	}
}
