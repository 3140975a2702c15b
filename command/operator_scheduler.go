package command

import (
	"fmt"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) operatorSchedulerCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "scheduler <subcommand>", Short: "Read and change the cluster's scheduler configuration"}
	cmd.AddCommand(c.schedulerGetConfigCommand(), c.schedulerSetConfigCommand())
	return cmd
}

func (c *cli) schedulerGetConfigCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get-config [-json]",
		Short: "Show the scheduler configuration",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			resp, err := cl.SchedulerConfig(cmd.Context(), c.query())
			if err != nil {
				return fail("reading the scheduler configuration", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, resp.SchedulerConfig)
			}
			sc := resp.SchedulerConfig
			p := sc.PreemptionConfig
			writeKV(c.stdout, []kv{
				{"Scheduler Algorithm", sc.Algorithm()},
				{"Pause Eval Broker", strconv.FormatBool(sc.PauseEvalBroker)},
				{"Preemption System Scheduler", strconv.FormatBool(p.SystemSchedulerEnabled)},
				{"Preemption SysBatch Scheduler", strconv.FormatBool(p.SysBatchSchedulerEnabled)},
				{"Preemption Service Scheduler", strconv.FormatBool(p.ServiceSchedulerEnabled)},
				{"Preemption Batch Scheduler", strconv.FormatBool(p.BatchSchedulerEnabled)},
				{"Modify Index", strconv.FormatUint(sc.ModifyIndex, 10)},
			})
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the configuration as JSON")
	return cmd
}

// boolFlag is an optional boolean flag: unset leaves the current value.
type boolFlag struct {
	set bool
	val bool
}

func (b *boolFlag) String() string { return strconv.FormatBool(b.val) }
func (b *boolFlag) Type() string   { return "bool" }
func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	b.set, b.val = true, v
	return nil
}

func (c *cli) schedulerSetConfigCommand() *cobra.Command {
	var algorithm string
	var checkIndex int64
	var system, sysbatch, service, batch, pause boolFlag
	cmd := &cobra.Command{
		Use:   "set-config [-scheduler-algorithm=binpack|spread] [-preempt-service-scheduler=true] ...",
		Short: "Change the scheduler configuration (flags not given keep their value)",
		Args:  argsBetween(0, 0, "no arguments, only flags"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch algorithm {
			case "", structs.SchedulerAlgorithmBinpack, structs.SchedulerAlgorithmSpread:
			default:
				return usageError(cmd.CommandPath(), "-scheduler-algorithm=%q is unknown; use %q or %q", algorithm, structs.SchedulerAlgorithmBinpack, structs.SchedulerAlgorithmSpread)
			}
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			cur, err := cl.SchedulerConfig(ctx, c.query())
			if err != nil {
				return fail("reading the scheduler configuration", err, "")
			}
			sc := cur.SchedulerConfig
			if algorithm != "" {
				sc.SchedulerAlgorithm = algorithm
			}
			for _, f := range []struct {
				flag *boolFlag
				dst  *bool
			}{
				{&system, &sc.PreemptionConfig.SystemSchedulerEnabled},
				{&sysbatch, &sc.PreemptionConfig.SysBatchSchedulerEnabled},
				{&service, &sc.PreemptionConfig.ServiceSchedulerEnabled},
				{&batch, &sc.PreemptionConfig.BatchSchedulerEnabled},
				{&pause, &sc.PauseEvalBroker},
			} {
				if f.flag.set {
					*f.dst = f.flag.val
				}
			}
			cas := checkIndex >= 0
			if cas {
				sc.ModifyIndex = uint64(checkIndex)
			}
			resp, err := cl.SetSchedulerConfig(ctx, sc, cas)
			if err != nil {
				return fail("updating the scheduler configuration", err, "")
			}
			if cas && !resp.Updated {
				return fail("updating the scheduler configuration", fmt.Errorf("the configuration changed since index %d", checkIndex),
					"Read it again with 'nomadlike operator scheduler get-config' and retry with its Modify Index.")
			}
			c.out("Scheduler configuration updated!")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&algorithm, "scheduler-algorithm", "", "how nodes are ranked: binpack or spread")
	f.Var(&system, "preempt-system-scheduler", "allow system jobs to preempt (true|false)")
	f.Var(&sysbatch, "preempt-sysbatch-scheduler", "allow sysbatch jobs to preempt (true|false)")
	f.Var(&service, "preempt-service-scheduler", "allow service jobs to preempt (true|false)")
	f.Var(&batch, "preempt-batch-scheduler", "allow batch jobs to preempt (true|false)")
	f.Var(&pause, "pause-eval-broker", "pause the evaluation broker: evaluations stay pending, nothing is scheduled (true|false)")
	f.Int64Var(&checkIndex, "check-index", -1, "only update if the configuration's Modify Index is this (check-and-set)")
	return cmd
}
