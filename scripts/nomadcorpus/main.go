// Command nomadcorpus measures how many of the job specs Nomad ships for its
// own end-to-end tests `nomadlike job validate` accepts offline (make
// corpus). It downloads HashiCorp's Nomad module through the Go module proxy
// (`go mod download`, into the module cache: nothing of Nomad's is copied
// into this repository), finds every *.nomad, *.nomad.hcl and *.hcl file
// under e2e/, and runs each through the jobspec parser and the local
// validation `job validate` does without an agent (jobspec.ValidateWithVars).
//
// Each file is classified:
//   - skipped: not HCL, an HCL variable file (attributes only) or another
//     HCL file with no job block (agent configs, ACL policies, volume specs);
//   - needs variables: a variable without a default, which Nomad's own
//     offline validate refuses too without -var;
//   - accepted;
//   - unsupported feature: Consul, Connect, Vault or CSI, by name;
//   - refused: another error, grouped by the first error's category.
//
// The percentage accepted is of the job specs Nomad validates offline (all
// job specs less those needing variables).
package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nomadlike/nomadlike/jobspec"
)

func main() {
	version := flag.String("version", "v1.10.0", "the github.com/hashicorp/nomad module version to read e2e/ from")
	dir := flag.String("dir", "", "read job specs from this directory instead of downloading the module")
	verbose := flag.Bool("v", false, "print every file's class and first error")
	flag.Parse()
	root := *dir
	if root == "" {
		var err error
		if root, err = download(*version); err != nil {
			fmt.Fprintln(os.Stderr, "nomadcorpus:", err)
			os.Exit(1)
		}
		root = filepath.Join(root, "e2e")
	}
	files, err := specFiles(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nomadcorpus:", err)
		os.Exit(1)
	}
	var results []result
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nomadcorpus:", err)
			os.Exit(1)
		}
		rel, _ := filepath.Rel(root, f)
		r := classify(rel, src)
		results = append(results, r)
		if *verbose {
			fmt.Printf("%-22s %-40s %s\n", r.class, rel, firstLine(r.detail))
		}
	}
	report(os.Stdout, *version, root, results)
}

// download fetches the Nomad module with `go mod download` from a scratch
// module directory and returns where the module cache extracted it.
func download(version string) (string, error) {
	tmp, err := os.MkdirTemp("", "nomadcorpus")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte("module nomadcorpus\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/hashicorp/nomad@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download github.com/hashicorp/nomad@%s: %s (pick another version with -version)", version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download github.com/hashicorp/nomad@%s: %w (pick another version with -version)", version, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download github.com/hashicorp/nomad@%s reported no directory", version)
	}
	return info.Dir, nil
}

// specFiles lists the candidate job spec files under root, sorted.
func specFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".nomad") || strings.HasSuffix(p, ".hcl")) {
			files = append(files, p)
		}
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no *.nomad or *.hcl files under %s", root)
	}
	return files, err
}

// Classes of a file.
const (
	classNotHCL      = "skipped: not HCL"
	classVarFile     = "skipped: variable file"
	classOther       = "skipped: not a job"
	classNeedsVars   = "needs variables"
	classAccepted    = "accepted"
	classUnsupported = "unsupported feature"
	classRefused     = "refused"
	// Refused for a rule Nomad's own validation has (nomadRules).
	classNomadRefuses = "refused by Nomad too"
)

type result struct {
	file   string
	class  string
	cause  string // the feature name or the error category
	detail string // the first error or feature line
	// also is, for a file using an unsupported feature, the first of its
	// other errors ("" when it has none).
	also string
}

func (r result) skipped() bool { return strings.HasPrefix(r.class, "skipped") }

// classify runs one file through what `job validate` does offline.
func classify(file string, src []byte) result {
	r := result{file: file}
	f, diags := hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	if diags.HasErrors() {
		r.class, r.detail = classNotHCL, diags.Error()
		return r
	}
	b := f.Body.(*hclsyntax.Body)
	var isJob bool
	var blocks, needVars []string
	for _, blk := range b.Blocks {
		blocks = append(blocks, blk.Type)
		switch blk.Type {
		case "job":
			isJob = true
		case "variable":
			if _, ok := blk.Body.Attributes["default"]; !ok && len(blk.Labels) > 0 {
				needVars = append(needVars, blk.Labels[0])
			}
		}
	}
	switch {
	case !isJob && len(b.Blocks) == 0:
		r.class = classVarFile
		return r
	case !isJob:
		r.class, r.detail = classOther, "top-level blocks: "+strings.Join(slices.Compact(blocks), ", ")
		return r
	case len(needVars) > 0:
		r.class, r.detail = classNeedsVars, "no default for: "+strings.Join(needVars, ", ")
		return r
	}
	// The variables' defaults apply: no -var values are passed.
	_, features, err := jobspec.ValidateWithVars(file, src, nil)
	switch {
	case len(features) > 0:
		r.class, r.detail = classUnsupported, features[0]
		r.cause = featureName(features[0])
		if err != nil {
			r.also = firstLine(err.Error())
		}
	case err != nil:
		r.class, r.detail = classRefused, firstLine(err.Error())
		r.cause = category(err)
		for _, rule := range nomadRules {
			if strings.Contains(r.detail, rule) {
				r.class = classNomadRefuses
			}
		}
	default:
		r.class = classAccepted
	}
	return r
}

// Patterns that make an error's detail a category: indexes and names of
// groups and tasks, parenthesized values, and what follows the first
// sentence.
var (
	indexes  = regexp.MustCompile(`\[(?:"[^"]*"|\d+)\]`)
	parens   = regexp.MustCompile(` ?\([^)]*\)`)
	sentence = regexp.MustCompile(`[.;] `)
)

// nomadRules are the texts of our errors for rules Nomad's own job
// validation has too: a file refused with one is refused by Nomad offline
// as well, and is not counted among the job specs Nomad validates.
var nomadRules = []string{
	"task group count must not be greater than maximum count in scaling policy",
	"task group count must not be less than minimum count in scaling policy",
}

// featureName names the unsupported feature of a feature line
// ("file:l:c: Unsupported feature: Vault is not supported ...").
func featureName(line string) string {
	for _, name := range []string{"Consul Connect", "Consul", "Vault", "CSI"} {
		if strings.Contains(line, name) {
			return name
		}
	}
	return "other"
}

// category groups an error by its first error diagnostic: the summary and
// the first sentence of the detail, without group and task names or
// parenthesized values.
func category(err error) string {
	var je *jobspec.Error
	if !errors.As(err, &je) || len(je.Diags) == 0 {
		return firstLine(err.Error())
	}
	d := je.Diags[0]
	for _, x := range je.Diags {
		if x.Severity == hcl.DiagError {
			d = x
			break
		}
	}
	detail := parens.ReplaceAllString(indexes.ReplaceAllString(d.Detail, ""), "")
	if loc := sentence.FindStringIndex(detail); loc != nil {
		detail = detail[:loc[0]]
	}
	return d.Summary + ": " + detail
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// report prints the totals, the percentage accepted and the causes.
func report(w *os.File, version, root string, results []result) {
	counts := map[string]int{}
	for _, r := range results {
		counts[r.class]++
	}
	jobs := 0
	for _, r := range results {
		if !r.skipped() {
			jobs++
		}
	}
	offline := jobs - counts[classNeedsVars] - counts[classNomadRefuses]
	fmt.Fprintf(w, "Nomad %s e2e job specs (%s)\n\n", version, root)
	fmt.Fprintf(w, "%-34s %5d\n", "files (*.nomad, *.hcl)", len(results))
	for _, c := range []string{classNotHCL, classVarFile, classOther} {
		fmt.Fprintf(w, "  %-32s %5d\n", c, counts[c])
	}
	fmt.Fprintf(w, "%-34s %5d\n", "job specs", jobs)
	fmt.Fprintf(w, "  %-32s %5d\n", classNeedsVars+" (no -var given)", counts[classNeedsVars])
	fmt.Fprintf(w, "  %-32s %5d\n", classNomadRefuses, counts[classNomadRefuses])
	fmt.Fprintf(w, "%-34s %5d\n", "validated offline", offline)
	for _, c := range []string{classAccepted, classUnsupported, classRefused} {
		fmt.Fprintf(w, "  %-32s %5d\n", c, counts[c])
	}
	if offline > 0 {
		fmt.Fprintf(w, "\naccepted: %d/%d = %.0f%%\n", counts[classAccepted], offline,
			100*float64(counts[classAccepted])/float64(offline))
	}
	for _, c := range []string{classUnsupported, classRefused, classNomadRefuses} {
		type cause struct {
			name    string
			n       int
			example result
		}
		byName := map[string]*cause{}
		for _, r := range results {
			if r.class != c {
				continue
			}
			if byName[r.cause] == nil {
				byName[r.cause] = &cause{name: r.cause, example: r}
			}
			byName[r.cause].n++
		}
		var causes []*cause
		for _, x := range byName {
			causes = append(causes, x)
		}
		slices.SortFunc(causes, func(a, b *cause) int {
			return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name))
		})
		if len(causes) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s, by cause:\n", c)
		for _, x := range causes {
			fmt.Fprintf(w, "%4d  %s\n      e.g. %s\n", x.n, x.name, x.example.detail)
		}
		var also []result
		for _, r := range results {
			if r.class == c && r.also != "" {
				also = append(also, r)
			}
		}
		if len(also) > 0 {
			fmt.Fprintf(w, "%4d  of them have other errors too, e.g. %s\n", len(also), also[0].also)
		}
	}
}
