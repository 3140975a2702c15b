package structs

import (
	"encoding/json"
	"strings"
	"testing"
)

// groupFromJSON decodes a group and applies ApplyJSONDefaults with the keys
// its JSON sets (the agent learns them in its pass over a job's body).
func groupFromJSON(t *testing.T, src string) TaskGroup {
	t.Helper()
	var tg TaskGroup
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(src), &tg); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	if err := json.Unmarshal([]byte(src), &raw); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	set := func(v json.RawMessage) bool { return v != nil && string(v) != "null" }
	k := GroupJSONKeys{Count: set(raw["Count"]), AnyCount: set(raw["Count"])}
	if set(raw["Scaling"]) {
		var sc map[string]json.RawMessage
		if err := json.Unmarshal(raw["Scaling"], &sc); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		k.Scaling = &ScalingJSONKeys{Min: set(sc["Min"]), Max: set(sc["Max"]), Enabled: set(sc["Enabled"])}
	}
	tg.ApplyJSONDefaults(k)
	return tg
}

// TestScalingJSONDefaults checks Nomad's API defaults for a group's Scaling
// decoded from JSON.
func TestScalingJSONDefaults(t *testing.T) {
	for _, tc := range []struct {
		src                string
		count              int
		min, max           int64
		enabled            bool
		wantValidateSubstr string
	}{
		{`{"Name":"g","Count":3,"Scaling":{"Max":5}}`, 3, 3, 5, true, ""},
		{`{"Name":"g","Scaling":{"Min":2,"Max":5,"Enabled":false}}`, 2, 2, 5, false, ""},
		{`{"Name":"g","Count":4,"Scaling":{"Min":1}}`, 4, 1, -1, true, "maximum count must be specified"},
		{`{"Name":"g","Count":9,"Scaling":{"Min":1,"Max":5}}`, 9, 1, 5, true, "must not be greater than maximum count in scaling policy (count 9, max 5)"},
		{`{"Name":"g","Count":0,"Scaling":{"Min":1,"Max":5}}`, 0, 1, 5, true, "must not be less than minimum count in scaling policy (count 0, min 1)"},
		{`{"Name":"g","Scaling":{"Max":5}}`, 1, 1, 5, true, ""},
		{`{"Name":"g","Count":null,"Scaling":{"Min":null,"Max":5}}`, 1, 1, 5, true, ""},
	} {
		tg := groupFromJSON(t, tc.src)
		if tg.Count != tc.count || tg.Scaling.Min != tc.min || tg.Scaling.Max != tc.max || tg.Scaling.Enabled != tc.enabled {
			t.Errorf("%s: got count %d, scaling %+v", tc.src, tg.Count, tg.Scaling)
		}
		tg.Tasks = []*Task{{Name: "t", Driver: "raw_exec", Resources: DefaultResources()}}
		err := tg.Validate(&Job{Type: JobTypeService})
		switch {
		case tc.wantValidateSubstr == "" && err != nil:
			t.Errorf("%s: Validate: %v", tc.src, err)
		case tc.wantValidateSubstr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantValidateSubstr)):
			t.Errorf("%s: Validate = %v, want it to contain %q", tc.src, err, tc.wantValidateSubstr)
		}
	}
}

// TestCheckScalingBounds checks job scale's messages, as Nomad words them.
func TestCheckScalingBounds(t *testing.T) {
	tg := &TaskGroup{Scaling: &ScalingPolicy{Min: 1, Max: 3}}
	for count, want := range map[int64]string{
		0: "group count was less than scaling policy minimum: 0 < 1",
		2: "",
		4: "group count was greater than scaling policy maximum: 4 > 3",
	} {
		err := tg.CheckScalingBounds(count)
		if (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("count %d: got %v, want %q", count, err, want)
		}
	}
	if err := (&TaskGroup{}).CheckScalingBounds(100); err != nil {
		t.Errorf("no scaling block: got %v", err)
	}
}

// TestHostVolumeFits checks the read-only rule of host volume feasibility.
func TestHostVolumeFits(t *testing.T) {
	node := map[string]*ClientHostVolumeConfig{"rw": {Name: "rw"}, "ro": {Name: "ro", ReadOnly: true}}
	for _, tc := range []struct {
		source   string
		readOnly bool
		want     bool
	}{{"rw", false, true}, {"rw", true, true}, {"ro", true, true}, {"ro", false, false}, {"none", true, false}} {
		if got := HostVolumeFits(&VolumeRequest{Type: VolumeTypeHost, Source: tc.source, ReadOnly: tc.readOnly}, node); got != tc.want {
			t.Errorf("source %q read_only %v: got %v, want %v", tc.source, tc.readOnly, got, tc.want)
		}
	}
}

// TestDiffVolumesAndScaling checks that job diffs show volume, volume
// mount and scaling changes.
func TestDiffVolumesAndScaling(t *testing.T) {
	job := func(ro bool, dest string, max int64) *Job {
		j := &Job{ID: "j", Type: JobTypeService, TaskGroups: []*TaskGroup{{
			Name: "g", Count: 1,
			Volumes: map[string]*VolumeRequest{"d": {Name: "d", Type: "host", Source: "data", ReadOnly: ro}},
			Scaling: &ScalingPolicy{Min: 1, Max: max, Enabled: true},
			Tasks:   []*Task{{Name: "t", Driver: "container", VolumeMounts: []*VolumeMount{{Volume: "d", Destination: dest}}}},
		}}}
		j.Canonicalize()
		return j
	}
	d, err := job(false, "/data", 3).Diff(job(true, "/srv", 5), false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d)
	for _, want := range []string{`"ReadOnly"`, `"/srv"`, `"Max"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("diff lacks %s:\n%s", want, b)
		}
	}
}
