package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// defaultJobFile is the file `job init` writes when given none.
const defaultJobFile = "example.nomad.hcl"

func (c *cli) jobInitCommand() *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "init [-short] [file]",
		Short: "Write an example job file (" + defaultJobFile + ") to start from",
		Args:  argsBetween(0, 1, "at most one file name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := defaultJobFile
			if len(args) == 1 {
				file = args[0]
			}
			src := exampleJob
			if short {
				src = stripComments(exampleJob)
			}
			if err := writeNewFile(file, src, "nomadlike job init other.nomad.hcl"); err != nil {
				return err
			}
			c.out("Example job file written to %s", file)
			c.out("Run it with: nomadlike job run %s", file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "write the example without comments")
	return cmd
}

// writeNewFile writes src to file, which must not exist yet (example is a
// command line that names another file, for the hint).
func writeNewFile(file, src, example string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fail(fmt.Sprintf("writing %s", file), fmt.Errorf("file already exists"),
			fmt.Sprintf("Remove or rename it, or give another name: '%s'.", example))
	}
	if err != nil {
		return fail(fmt.Sprintf("writing %s", file), err, "")
	}
	if _, err := f.WriteString(src); err != nil {
		f.Close()
		return fail(fmt.Sprintf("writing %s", file), err, "")
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Sprintf("writing %s", file), err, "")
	}
	return nil
}

var commentLine = regexp.MustCompile(`^\s*#`)

// stripComments drops comment lines, trailing comments and blank runs.
func stripComments(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if commentLine.MatchString(l) {
			continue
		}
		if i := strings.Index(l, " # "); i >= 0 && !strings.Contains(l[:i], `"`) {
			l = strings.TrimRight(l[:i], " ")
		}
		if strings.TrimSpace(l) == "" && (len(out) == 0 || out[len(out)-1] == "") {
			continue
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// exampleJob is the job `job init` writes: a raw_exec service that needs
// only /bin/sh and prints a counter and the date every few seconds.
const exampleJob = `# There can only be a single job definition per file. This job is called
# "example"; its ID is used by 'nomadlike job status example' and
# 'nomadlike job stop example'.
job "example" {
  # A "service" job runs until it is stopped and is restarted when it fails.
  # A "batch" job runs to completion.
  type = "service"

  # The datacenters the job may run in; "*" means all of them.
  datacenters = ["*"]

  # How a new version of the job replaces the running one. Without an update
  # block every allocation is replaced at once; with this one, one at a time,
  # each healthy for 10 seconds before the next (a deployment), rolled back
  # if it fails. Uncomment to use it:
  # update {
  #   max_parallel     = 1
  #   min_healthy_time = "10s"
  #   healthy_deadline = "3m"
  #   auto_revert      = true
  # }

  # A group is a set of tasks placed together on one client node. Every copy
  # of the group is one allocation.
  group "hello" {
    # How many allocations of this group to run.
    count = 1

    # When its node is drained, move the allocations one at a time, the next
    # once the previous one's replacement has run for 10 seconds. And if the
    # node loses contact with the servers, keep its allocations (shown as
    # "unknown") for up to 5 minutes before replacing them. Uncomment to use:
    # migrate {
    #   max_parallel     = 1
    #   min_healthy_time = "10s"
    # }
    # max_client_disconnect = "5m"

    # How the client restarts a failing task in place: at most 2 restarts
    # within 1 minute, 5 seconds apart. After that, mode "fail" marks the
    # allocation failed, and 'nomadlike job run' shows why.
    restart {
      attempts = 2
      delay    = "5s"
      interval = "1m"
      mode     = "fail"
    }

    # A task is one process run by a driver. raw_exec runs a command on the
    # host, without isolation.
    task "hello" {
      driver = "raw_exec"

      # The driver's configuration: the command to run and its arguments.
      config {
        command = "/bin/sh"
        args = [
          "-c",
          "trap 'echo stopping; exit 0' INT TERM; i=0; while true; do i=$((i+1)); echo \"hello #$i at $(date)\"; sleep 3; done",
        ]
      }

      # What the task needs; the scheduler places it on a node that has it.
      resources {
        cpu    = 100 # MHz
        memory = 64  # MB
      }
    }
  }
}
`
