package command

import (
	"fmt"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// jobHistoryFlags are the options of `job history`.
type jobHistoryFlags struct {
	diffs   bool
	version int64
	json    bool
}

func (c *cli) jobHistoryCommand() *cobra.Command {
	f := jobHistoryFlags{version: -1}
	cmd := &cobra.Command{
		Use:   "history [-p] [-version n] [-json] <job>",
		Short: "List the kept versions of a job, with -p the changes each made",
		Long: `Lists the versions of a job the servers keep (the last 6, plus the newest
stable one), newest first. With -p each version is shown with its diff against
the version before it. Revert to one with 'nomadlike job revert <job> <version>'.`,
		Args: argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.jobHistory(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.diffs, "p", "p", false, "show the diff of each version against the one before it")
	fl.Int64Var(&f.version, "version", -1, "show only this version")
	fl.BoolVar(&f.json, "json", false, "print the versions as JSON")
	return cmd
}

func (c *cli) jobHistory(cmd *cobra.Command, prefix string, f *jobHistoryFlags) error {
	ctx := cmd.Context()
	cl, err := c.client()
	if err != nil {
		return err
	}
	job, _, err := c.resolveJob(ctx, cl, prefix)
	if err != nil {
		return err
	}
	resp, _, err := cl.JobVersions(ctx, job.ID, f.diffs, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading the versions of job %q", job.ID), err, "")
	}
	diffFor := func(i int) *structs.JobDiff {
		if f.diffs && i < len(resp.Diffs) {
			return resp.Diffs[i]
		}
		return nil
	}
	if f.version >= 0 {
		for i, v := range resp.Versions {
			if v.Version == uint64(f.version) {
				if f.json {
					return writeJSON(c.stdout, v)
				}
				c.printVersion(v, diffFor(i), f.diffs && i < len(resp.Versions)-1)
				return nil
			}
		}
		kept := make([]string, len(resp.Versions))
		for i, v := range resp.Versions {
			kept[i] = strconv.FormatUint(v.Version, 10)
		}
		return fail(fmt.Sprintf("reading version %d of job %q", f.version, job.ID),
			fmt.Errorf("the servers keep no such version (kept: %v)", kept),
			fmt.Sprintf("List the kept versions with 'nomadlike job history %s'.", job.ID))
	}
	if f.json {
		return writeJSON(c.stdout, resp)
	}
	for i, v := range resp.Versions {
		if i > 0 {
			c.out("")
		}
		c.printVersion(v, diffFor(i), f.diffs && i < len(resp.Versions)-1)
	}
	return nil
}

// printVersion prints one version as Nomad's job history does; with
// showDiff, its diff against the version before it.
func (c *cli) printVersion(v *structs.Job, d *structs.JobDiff, showDiff bool) {
	pairs := []kv{
		{"Version", strconv.FormatUint(v.Version, 10)},
		{"Stable", strconv.FormatBool(v.Stable)},
		{"Submit Date", formatUnixNano(v.SubmitTime, c.now().Location())},
	}
	if v.VersionTag != nil {
		pairs = append(pairs, kv{"Tag Name", v.VersionTag.Name})
		if v.VersionTag.Description != "" {
			pairs = append(pairs, kv{"Tag Description", v.VersionTag.Description})
		}
	}
	if showDiff {
		pairs = append(pairs, kv{"Diff", ""})
	}
	writeKV(c.stdout, pairs)
	if showDiff {
		if d == nil || d.Type == structs.DiffTypeNone {
			c.out("No changes from the version before.")
			return
		}
		fmt.Fprint(c.stdout, formatJobDiff(d, false))
	}
}
