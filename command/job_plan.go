package command

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// exitPlanError is job plan's exit code on error, as Nomad's (255).
const exitPlanError = 255

// jobPlanFlags are the options of `job plan`.
type jobPlanFlags struct {
	diff    bool
	verbose bool
	vars    []string
}

func (c *cli) jobPlanCommand() *cobra.Command {
	var f jobPlanFlags
	cmd := &cobra.Command{
		Use:   "plan [-diff] [-verbose] [-var k=v]... <file|->",
		Short: "Dry-run a job file: show what would change and whether it fits, without changing anything",
		Long: `Parses the job file, asks the servers to run the scheduler on it without
committing anything, and prints the difference from the running version, what
the scheduler would do (placements, updates, failures and why), and the job
modify index to pass to 'job run -check-index' so the job is submitted only if
nobody changed it meanwhile.
Exit codes: 0 no allocations would be created or destroyed, 1 some would,
255 error.`,
		Args: argsBetween(1, 1, "one job file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := c.jobPlan(cmd, args[0], &f)
			var ce *cliError
			if errors.As(err, &ce) && !ce.silent && ce.code == exitError {
				ce.code = exitPlanError
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.diff, "diff", true, "show the difference from the job's current version")
	fl.BoolVar(&f.verbose, "verbose", false, "show unchanged job fields and full IDs")
	fl.StringArrayVar(&f.vars, "var", nil, "set an input variable, as key=value (repeatable)")
	return cmd
}

func (c *cli) jobPlan(cmd *cobra.Command, file string, f *jobPlanFlags) error {
	job, err := c.parseJobFile(file, f.vars)
	if err != nil {
		return err
	}
	if job.Namespace == "" {
		job.Namespace = c.namespace
	}
	if job.Region == "" {
		job.Region = c.region
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	resp, err := cl.PlanJob(cmd.Context(), job, f.diff, c.query())
	if err != nil {
		return fail(fmt.Sprintf("planning job %q", job.ID), err, "")
	}
	if resp.Diff != nil && f.diff {
		c.out("%s", formatJobDiff(resp.Diff, f.verbose))
	}
	c.out("Scheduler dry-run:")
	for _, l := range formatDryRun(resp, job.Type) {
		c.out("%s", l)
	}
	if resp.Warnings != "" {
		c.out("\nJob Warnings:\n%s", resp.Warnings)
	}
	c.out("")
	c.out("Job Modify Index: %d", resp.JobModifyIndex)
	c.out("To submit the job with version verification run:")
	c.out("")
	c.out("nomadlike job run -check-index %d %s", resp.JobModifyIndex, file)
	c.out("")
	c.out("When running the job with the check-index flag, the job will only be run if the")
	c.out("job modify index given matches the server-side version. If the index has")
	c.out("changed, another user has modified the job and the plan's results are")
	c.out("potentially invalid.")
	if code := planExitCode(resp); code != exitOK {
		return exitWith(code)
	}
	return nil
}

// planExitCode is Nomad's: 1 when the plan creates, stops, migrates or
// replaces allocations, 0 otherwise.
func planExitCode(resp *structs.JobPlanResponse) int {
	if resp.Annotations == nil {
		return exitOK
	}
	for _, d := range resp.Annotations.DesiredTGUpdates {
		if d != nil && d.Stop+d.Place+d.Migrate+d.DestructiveUpdate+d.Canary > 0 {
			return exitError
		}
	}
	return exitOK
}

// formatDryRun says what the scheduler would do, in plain words.
func formatDryRun(resp *structs.JobPlanResponse, jobType string) []string {
	var out []string
	if len(resp.FailedTGAllocs) == 0 {
		out = append(out, "- All tasks successfully allocated.")
	} else {
		if jobType == structs.JobTypeSystem || jobType == structs.JobTypeSysBatch {
			out = append(out, "- WARNING: Failed to place allocations on all nodes.")
		} else {
			out = append(out, "- WARNING: Failed to place all allocations.")
		}
		for _, l := range explainFailedGroups(resp.FailedTGAllocs) {
			out = append(out, "  "+l)
		}
	}
	if resp.Annotations != nil {
		for _, g := range slices.Sorted(maps.Keys(resp.Annotations.DesiredTGUpdates)) {
			if s := updatesSummary(resp.Annotations.DesiredTGUpdates[g]); s != "" {
				out = append(out, fmt.Sprintf("- Task group %q: %s.", g, s))
			}
		}
	}
	for _, e := range resp.CreatedEvals {
		if e.Status == structs.EvalStatusBlocked {
			out = append(out, "- A blocked evaluation would wait for capacity and place the rest when nodes free up or join.")
			break
		}
	}
	return out
}

// updatesSummary words a group's desired updates: "1 create, 2 in-place update".
func updatesSummary(du *structs.DesiredUpdates) string {
	if du == nil {
		return ""
	}
	var parts []string
	add := func(n uint64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(du.Place, "create")
	add(du.DestructiveUpdate, "create/destroy update")
	add(du.Stop, "destroy")
	add(du.Migrate, "migrate")
	add(du.Canary, "canary")
	add(du.InPlaceUpdate, "in-place update")
	add(du.Preemptions, "preemption")
	add(du.Ignore, "ignore")
	return strings.Join(parts, ", ")
}

// diffMarker is the prefix of a diff line, as Nomad prints it.
func diffMarker(t structs.DiffType) string {
	switch t {
	case structs.DiffTypeAdded:
		return "+"
	case structs.DiffTypeDeleted:
		return "-"
	case structs.DiffTypeEdited:
		return "+/-"
	}
	return ""
}

// formatJobDiff renders a job diff as Nomad's job plan does:
//
//	+/- Job: "example"
//	+/- Task Group: "web" (1 create/destroy update)
//	  +/- Task: "server" (forces create/destroy update)
//	    +/- Config {
//	      +/- args[0]: "1000" => "2000"
//	          command: "/bin/sleep"
//	        }
func formatJobDiff(d *structs.JobDiff, verbose bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sJob: %q\n", markerPrefix(d.Type), d.ID)
	if d.Type == structs.DiffTypeEdited || verbose {
		writeFieldsAndObjects(&b, d.Fields, d.Objects, "")
	}
	for _, tg := range d.TaskGroups {
		if tg.Type == structs.DiffTypeNone && !verbose && len(tg.Updates) == 0 {
			continue
		}
		writeGroupDiff(&b, tg, verbose)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// markerPrefix is the marker followed by a space, or nothing.
func markerPrefix(t structs.DiffType) string {
	if m := diffMarker(t); m != "" {
		return m + " "
	}
	return ""
}

func writeGroupDiff(b *strings.Builder, tg *structs.TaskGroupDiff, verbose bool) {
	fmt.Fprintf(b, "%sTask Group: %q", markerPrefix(tg.Type), tg.Name)
	if len(tg.Updates) > 0 {
		keys := slices.Sorted(maps.Keys(tg.Updates))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", tg.Updates[k], k)
		}
		fmt.Fprintf(b, " (%s)", strings.Join(parts, ", "))
	}
	b.WriteString("\n")
	writeFieldsAndObjects(b, tg.Fields, tg.Objects, "  ")
	for _, t := range tg.Tasks {
		if t.Type == structs.DiffTypeNone && !verbose {
			continue
		}
		fmt.Fprintf(b, "  %sTask: %q", markerPrefix(t.Type), t.Name)
		if len(t.Annotations) > 0 {
			fmt.Fprintf(b, " (%s)", strings.Join(t.Annotations, ", "))
		}
		b.WriteString("\n")
		writeFieldsAndObjects(b, t.Fields, t.Objects, "    ")
	}
}

// writeFieldsAndObjects writes fields (names aligned) then objects, each
// line with its marker padded to the widest marker of the block.
func writeFieldsAndObjects(b *strings.Builder, fields []*structs.FieldDiff, objects []*structs.ObjectDiff, indent string) {
	width, nameWidth := 0, 0
	for _, f := range fields {
		width = max(width, len(diffMarker(f.Type)))
		nameWidth = max(nameWidth, len(f.Name))
	}
	for _, o := range objects {
		width = max(width, len(diffMarker(o.Type)))
	}
	pad := func(t structs.DiffType) string {
		if width == 0 {
			return ""
		}
		return fmt.Sprintf("%-*s ", width, diffMarker(t))
	}
	for _, f := range fields {
		fmt.Fprintf(b, "%s%s%s\n", indent, pad(f.Type), formatField(f, nameWidth))
	}
	for _, o := range objects {
		fmt.Fprintf(b, "%s%s%s {\n", indent, pad(o.Type), o.Name)
		writeFieldsAndObjects(b, o.Fields, o.Objects, indent+"  ")
		fmt.Fprintf(b, "%s%s}\n", indent, strings.Repeat(" ", max(len(pad(o.Type)), 2)))
	}
}

// formatField renders `Name: "old" => "new"` (or one value), padded so
// the values of a block line up, with the field's annotations.
func formatField(f *structs.FieldDiff, nameWidth int) string {
	name := fmt.Sprintf("%-*s", nameWidth+1, f.Name+":")
	var s string
	switch f.Type {
	case structs.DiffTypeAdded:
		s = fmt.Sprintf("%s %q", name, f.New)
	case structs.DiffTypeDeleted:
		s = fmt.Sprintf("%s %q", name, f.Old)
	case structs.DiffTypeEdited:
		s = fmt.Sprintf("%s %q => %q", name, f.Old, f.New)
	default:
		s = fmt.Sprintf("%s %q", name, f.New)
	}
	if len(f.Annotations) > 0 {
		s += fmt.Sprintf(" (%s)", strings.Join(f.Annotations, ", "))
	}
	return s
}
