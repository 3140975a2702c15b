package agent

import (
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// decodeJobBody decodes a request carrying a job ({"Job": {...}, ...}) and
// applies the defaults Nomad's agent applies to it: Nomad's HTTP layer
// decodes into the official client's types, where every field is a
// pointer, and calls their Canonicalize, so a null or absent field (the
// stock CLI sends many) gets Nomad's default while an explicit zero stays
// zero. Our structs cannot tell null from zero once decoded, so a second,
// light pass over the body (jobShapeOf: no values, only which keys hold
// one) tells the defaults where they apply, the group's own (Count,
// Scaling: TaskGroup.ApplyJSONDefaults) and the official client's
// Canonicalize (canonicalizeJob). out is a pointer to a struct with a
// Job *structs.Job field.
//
// The typed decode reads the body as sent, so its errors name the field
// and the offset the user sent. (This replaced a generic parse, defaults
// filled in the tree, a marshal and a typed decode of the result: three
// passes over the body instead of two, and about twice the CPU time.)
func decodeJobBody(r *http.Request, out any) error {
	body, err := readBody(r, "JSON")
	if err != nil {
		return err
	}
	if err := decodeJSON(body, out); err != nil {
		return err
	}
	job, _ := reflect.ValueOf(out).Elem().FieldByName("Job").Interface().(*structs.Job)
	if job != nil {
		shape, err := jobShapeOf(body)
		if err != nil {
			return err
		}
		if shape != nil {
			for i, tg := range job.TaskGroups {
				if i < len(shape.TaskGroups) && tg != nil {
					tg.ApplyJSONDefaults(shape.TaskGroups[i].JSON)
				}
			}
			if err := canonicalizeJob(job, shape); err != nil {
				return err
			}
		}
	}
	// The write's fingerprint is that of the job as canonicalized.
	server.NoteDecoded(r.Context(), out)
	return nil
}

// jsonSet is true for a JSON key present with a value other than null: the
// keys whose value the official client's Canonicalize keeps.
type jsonSet bool

// UnmarshalJSON records whether the value is not null (the decoder calls it
// for null too).
func (s *jsonSet) UnmarshalJSON(b []byte) error {
	*s = jsonSet(string(b) != "null")
	return nil
}

// setKeys says which keys of a block hold a value: the union of the keys
// of the blocks that get defaults (update, reschedule, migrate, restart,
// ephemeral_disk, periodic).
type setKeys struct {
	Stagger, MaxParallel, HealthCheck, MinHealthyTime, HealthyDeadline, ProgressDeadline jsonSet
	AutoRevert, AutoPromote, Canary                                                      jsonSet
	Attempts, Interval, Delay, DelayFunction, MaxDelay, Unlimited, Mode, RenderTemplates jsonSet
	SizeMB, Sticky, Migrate                                                              jsonSet
	Enabled, SpecType, ProhibitOverlap, TimeZone                                         jsonSet
}

// allSet stands for a block whose keys the shape did not see (it decodes
// the same body, so only a key spelled twice could do that): every value
// decoded is kept.
var allSet = &setKeys{true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true}

func keysOr(k *setKeys) *setKeys {
	if k == nil {
		return allSet
	}
	return k
}

// jobShape is what decodeJobBody needs to know of a job's JSON besides its
// typed decode: which keys of the defaulted blocks hold a value, and the
// job-level reschedule and migrate blocks, which Nomad copies into every
// group and our Job does not keep.
type jobShape struct {
	Periodic, Update    *setKeys
	Reschedule, Migrate json.RawMessage
	TaskGroups          []groupShape
}

type groupShape struct {
	Update, ReschedulePolicy, Migrate, RestartPolicy, EphemeralDisk *setKeys
	Tasks                                                           []taskShape
	// JSON holds the keys of the group's own defaults (Count, Scaling).
	JSON structs.GroupJSONKeys
}

type taskShape struct{ KillTimeout jsonSet }

// Nomad's defaults, as the official client's Canonicalize methods set them.
func defaultUpdate() structs.UpdateStrategy {
	return structs.UpdateStrategy{Stagger: 30 * time.Second, MaxParallel: 1, HealthCheck: structs.UpdateStrategyHealthCheckChecks,
		MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute, ProgressDeadline: 10 * time.Minute}
}

func defaultMigrate() structs.MigrateStrategy {
	return structs.MigrateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateStrategyHealthCheckChecks,
		MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute}
}

// overlay sets in dst the fields of src whose keys (same names) k marks
// set; a field setKeys does not name is always copied.
func overlay[T any](dst, src *T, k *setKeys) {
	dv, sv, kv := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem(), reflect.ValueOf(k).Elem()
	for i := range dv.NumField() {
		if set := kv.FieldByName(dv.Type().Field(i).Name); !set.IsValid() || set.Bool() {
			dv.Field(i).Set(sv.Field(i))
		}
	}
}

// updateEmpty reports whether an update block asks for nothing (the
// official client's UpdateStrategy.Empty): a group does not inherit it.
func updateEmpty(u *structs.UpdateStrategy) bool {
	return u.Stagger == 0 && u.MaxParallel == 0 && u.MinHealthyTime == 0 && u.HealthyDeadline == 0 &&
		u.ProgressDeadline == 0 && u.Canary == 0 && u.HealthCheck == "" && !u.AutoRevert && !u.AutoPromote
}

// jobBlock decodes a job-level block Nomad copies into the groups
// (reschedule, migrate) and the keys it sets; ok is false for an absent,
// null or non-object block, which Nomad's client ignores.
func jobBlock[T any](raw json.RawMessage, field string) (v *T, keys *setKeys, ok bool, err error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, nil, false, nil
	}
	v, keys = new(T), new(setKeys)
	if err := json.Unmarshal(raw, v); err != nil {
		if te, isType := err.(*json.UnmarshalTypeError); isType {
			return nil, nil, false, structs.NewBadRequest("request body: field %q must be %s, not JSON %s", "Job."+field+"."+te.Field, te.Type, te.Value)
		}
		return nil, nil, false, structs.NewBadRequest("request body: Job.%s: %v", field, err)
	}
	if err := json.Unmarshal(raw, keys); err != nil {
		return nil, nil, false, structs.NewBadRequest("request body: Job.%s: %v", field, err)
	}
	return v, keys, true, nil
}

// canonicalizeJob applies the official client's Job.Canonicalize defaults
// to the fields of job that its JSON (shape) left null or absent.
func canonicalizeJob(job *structs.Job, shape *jobShape) error {
	typ := job.Type
	if typ == "" {
		typ = structs.JobTypeService
	}
	if p := job.Periodic; p != nil {
		k := keysOr(shape.Periodic)
		if !k.Enabled {
			p.Enabled = true
		}
		if !k.SpecType {
			p.SpecType = structs.PeriodicSpecCron
		}
		if !k.ProhibitOverlap {
			p.ProhibitOverlap = false
		}
		if !k.TimeZone {
			p.TimeZone = "UTC"
		}
	}
	ju := job.Update
	switch {
	case ju != nil:
		u := defaultUpdate()
		overlay(&u, ju, keysOr(shape.Update))
		*ju = u
	case typ == structs.JobTypeService || typ == structs.JobTypeSystem:
		u := defaultUpdate()
		ju = &u
		job.Update = ju
	}
	jr, jrKeys, hasJR, err := jobBlock[structs.ReschedulePolicy](shape.Reschedule, "Reschedule")
	if err != nil {
		return err
	}
	jm, jmKeys, hasJM, err := jobBlock[structs.MigrateStrategy](shape.Migrate, "Migrate")
	if err != nil {
		return err
	}
	system := typ == structs.JobTypeSystem || typ == structs.JobTypeSysBatch
	for i, tg := range job.TaskGroups {
		var gs groupShape
		if i < len(shape.TaskGroups) {
			gs = shape.TaskGroups[i]
		}
		switch {
		case tg.Update != nil:
			u := defaultUpdate()
			if ju != nil {
				u = *ju
			}
			overlay(&u, tg.Update, keysOr(gs.Update))
			tg.Update = &u
		case ju != nil && !updateEmpty(ju):
			u := *ju
			tg.Update = &u
		}
		if hasJR || tg.ReschedulePolicy != nil || !system {
			p := *structs.DefaultReschedulePolicy(typ)
			if hasJR {
				overlay(&p, jr, jrKeys)
			}
			if tg.ReschedulePolicy != nil {
				overlay(&p, tg.ReschedulePolicy, keysOr(gs.ReschedulePolicy))
			}
			tg.ReschedulePolicy = &p
		}
		if hasJM || tg.Migrate != nil || typ == structs.JobTypeService {
			m := defaultMigrate()
			if hasJM {
				overlay(&m, jm, jmKeys)
			}
			if tg.Migrate != nil {
				overlay(&m, tg.Migrate, keysOr(gs.Migrate))
			}
			tg.Migrate = &m
		}
		rp := *structs.DefaultRestartPolicy(typ)
		if tg.RestartPolicy != nil {
			overlay(&rp, tg.RestartPolicy, keysOr(gs.RestartPolicy))
		}
		tg.RestartPolicy = &rp
		if d := tg.EphemeralDisk; d != nil && !keysOr(gs.EphemeralDisk).SizeMB {
			d.SizeMB = 300
		}
		for j, t := range tg.Tasks {
			if j < len(gs.Tasks) && !gs.Tasks[j].KillTimeout && t != nil {
				t.KillTimeout = structs.DefaultKillTimeout
			}
		}
	}
	return nil
}
