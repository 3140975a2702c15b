package jobspec

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestUnsupportedBlocks checks that every Nomad block nomadlike lacks is
// reported at its position, at the level where Nomad accepts it.
func TestUnsupportedBlocks(t *testing.T) {
	const task = "task \"t\" {\n driver = \"raw_exec\"\n}\n"
	tests := []struct {
		level, block string
	}{
		{"job", "multiregion"}, {"job", "vault"}, {"job", "consul"},
		{"group", "consul"}, {"group", "vault"},
		{"task", "vault"},
		{"task", "consul"},
		{"task", "csi_plugin"}, {"task", "spread"}, {"task", "scaling"},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.block, func(t *testing.T) {
			blk := tt.block + " {\n}\n"
			var src string
			switch tt.level {
			case "job":
				src = "job \"j\" {\n" + blk + "group \"g\" {\n" + task + "}\n}\n"
			case "group":
				src = "job \"j\" {\ngroup \"g\" {\n" + blk + task + "}\n}\n"
			case "task":
				src = "job \"j\" {\ngroup \"g\" {\ntask \"t\" {\ndriver = \"raw_exec\"\n" + blk + "}\n}\n}\n"
			}
			line := strings.Count(src[:strings.Index(src, tt.block)], "\n") + 1
			name := strings.Fields(tt.block)[0]
			want := fmt.Sprintf("u.hcl:%d:1: Unsupported block: block %q is not supported yet by nomadlike", line, name)
			if hint, ok := featureHints[name]; ok {
				want = fmt.Sprintf("u.hcl:%d:1: Unsupported feature: %s", line, hint)
			}
			_, err := Parse("u.hcl", []byte(src))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got error\n%v\nwant it to contain\n%s", err, want)
			}
		})
	}
}

func TestConstraints(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // rendered constraint, or an error fragment
		wantErr    bool
	}{
		{"default operator", `attribute = "${node.class}"` + "\n" + `value = "web"`, "${node.class} = web", false},
		{"alias ==", `attribute = "${node.class}"` + "\n" + `operator = "=="` + "\n" + `value = "web"`, "${node.class} = web", false},
		{"semver shorthand", `attribute = "${attr.os.version}"` + "\n" + `semver = ">= 1.0.0"`, "${attr.os.version} semver >= 1.0.0", false},
		{"is_set", `attribute = "${meta.gpu}"` + "\n" + `operator = "is_set"`, "${meta.gpu} is_set", false},
		{"distinct_hosts operator", `operator = "distinct_hosts"` + "\n" + `value = "true"`, "distinct_hosts", false},
		{"distinct_hosts shorthand", `distinct_hosts = true`, "distinct_hosts", false},
		{"distinct_property shorthand", `distinct_property = "${meta.rack}"`, "distinct_property ${meta.rack} 1", false},
		{"distinct_property operator with limit", `operator = "distinct_property"` + "\n" + `attribute = "${meta.rack}"` + "\n" + `value = "2"`, "distinct_property ${meta.rack} 2", false},
		{"distinct_property bad limit", `distinct_property = "${meta.rack}"` + "\n" + `value = "zero"`, `Invalid constraint: RTarget: the distinct_property limit must be a whole number`, true},
		{"set_contains_any", `attribute = "${meta.rack}"` + "\n" + `operator = "set_contains_any"` + "\n" + `value = "r1,r2"`, "${meta.rack} set_contains_any r1,r2", false},
		{"set_contains shorthand", `attribute = "${attr.features}"` + "\n" + `set_contains = "avx,sse4"`, "${attr.features} set_contains avx,sse4", false},
		{"set_contains_all", `attribute = "${attr.features}"` + "\n" + `operator = "set_contains_all"` + "\n" + `value = "avx"`, "${attr.features} set_contains_all avx", false},
		{"shorthand and operator", `attribute = "${attr.x}"` + "\n" + `operator = "="` + "\n" + `version = "1"`, `c.hcl:5:1: Conflicting constraint: version = ... is a shorthand`, true},
		{"bad regexp", `attribute = "${attr.x}"` + "\n" + `regexp = "("`, `c.hcl:2:3: Invalid constraint: RTarget: regular expression "(" does not compile`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "job \"j\" {\n  constraint {\n" + tt.body + "\n}\ngroup \"g\" {\ntask \"t\" {\ndriver = \"raw_exec\"\n}\n}\n}\n"
			job, err := Parse("c.hcl", []byte(src))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got error\n%v\nwant it to contain\n%s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			if got := job.Constraints[0].String(); got != tt.want {
				t.Errorf("got constraint %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMetaAndEnvForms(t *testing.T) {
	src := `job "m" {
  meta = { a = "1", b = "attr" }
  meta {
    b = "block"
    c = 3
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      env = { X = "1" }
      env {
        Y = true
      }
    }
  }
}
`
	job, err := Parse("m.hcl", []byte(src))
	if err != nil {
		t.Fatalf("Parse: got error %v, want none", err)
	}
	if got, want := fmt.Sprint(job.Meta), "map[a:1 b:block c:3]"; got != want {
		t.Errorf("got meta %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(job.TaskGroups[0].Tasks[0].Env), "map[X:1 Y:true]"; got != want {
		t.Errorf("got env %s, want %s", got, want)
	}
}

// TestValidateReportsFeatures: ValidateWithVars reports Consul, Connect,
// Vault and CSI as located unsupported features, apart from the job's real
// mistakes, and returns the job without them; Parse refuses the same file
// at the same positions.
func TestValidateReportsFeatures(t *testing.T) {
	src := `job "j" {
  vault_token = "x"
  group "g" {
    volume "d" {
      type   = "csi"
      source = "vol"
    }
    volume "h" {
      type   = "host"
      source = "h"
    }
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
      vault {
        policies = ["p"]
      }
      volume_mount {
        volume      = "d"
        destination = "/d"
      }
      service {
        name     = "s"
        provider = "consul"
        connect {
          sidecar_service {}
        }
      }
    }
  }
}
`
	job, features, err := ValidateWithVars("f.hcl", []byte(src), nil)
	if err != nil {
		t.Fatalf("the job is valid apart from its features, got %v", err)
	}
	got := features
	want := []string{"f.hcl:2:3: Unsupported feature: Vault", "f.hcl:5:16: Unsupported feature: CSI volumes",
		"f.hcl:15:7: Unsupported feature: Vault", "f.hcl:24:20: Unsupported feature: Consul", "f.hcl:25:9: Unsupported feature: Consul Connect"}
	if len(got) != len(want) {
		t.Fatalf("features:\n%s\nwant %d", strings.Join(got, "\n"), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "; ") {
			t.Errorf("feature %d: %q, want prefix %q and what to use instead", i, got[i], want[i])
		}
	}
	tg := job.TaskGroups[0]
	if _, ok := tg.Volumes["d"]; ok || len(tg.Tasks[0].VolumeMounts) != 0 || tg.Tasks[0].Services[0].Provider != "nomad" {
		t.Errorf("job keeps its features: volumes %v, mounts %v", tg.Volumes, tg.Tasks[0].VolumeMounts)
	}

	_, err = Parse("f.hcl", []byte(src))
	var je *Error
	if !errors.As(err, &je) || len(je.Features()) != len(want) {
		t.Fatalf("Parse must refuse the features, got %v", err)
	}

	// A real mistake is still an error, with the features beside it.
	bad := strings.Replace(src, `driver = "raw_exec"`, `driver = "raw_exec"
      cuont = 1`, 1)
	_, features, err = ValidateWithVars("f.hcl", []byte(bad), nil)
	if err == nil || !strings.Contains(err.Error(), `"cuont"`) || strings.Contains(err.Error(), "Unsupported feature") || len(features) != len(want) {
		t.Errorf("mistake and features: err %v, %d features", err, len(features))
	}
}
