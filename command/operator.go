package command

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// operatorCommand is `nomadlike operator`: Raft peers, snapshots and the
// gossip keyring.
func (c *cli) operatorCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator <subcommand>",
		Short: "Cluster operations: Raft peers, snapshots, keyrings, scheduler settings, support bundles (debug)",
	}
	raft := &cobra.Command{Use: "raft <subcommand>", Short: "Inspect and change the Raft peers"}
	raft.AddCommand(c.raftListPeersCommand(), c.raftRemovePeerCommand())
	snap := &cobra.Command{Use: "snapshot <subcommand>", Short: "Save, inspect and restore snapshots of the cluster state"}
	snap.AddCommand(c.snapshotSaveCommand(), c.snapshotInspectCommand(), c.snapshotRestoreCommand())
	gossip := &cobra.Command{Use: "gossip <subcommand>", Short: "Gossip encryption"}
	gossip.AddCommand(c.gossipKeyringCommand())
	cmd.AddCommand(raft, snap, gossip, c.operatorSchedulerCommand(), c.operatorDebugCommand(), c.rootKeyringCommand(), c.operatorTopCommand())
	return cmd
}

func (c *cli) raftListPeersCommand() *cobra.Command {
	var stale, asJSON bool
	cmd := &cobra.Command{
		Use:   "list-peers [-stale] [-json]",
		Short: "List the Raft voters and the leader",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			q.AllowStale = stale
			rc, err := cl.RaftConfiguration(cmd.Context(), q)
			if err != nil {
				return fail("reading the Raft configuration", err, "Without a leader, add -stale to read this server's view.")
			}
			if asJSON {
				return writeJSON(c.stdout, rc)
			}
			var rows [][]string
			for _, s := range rc.Servers {
				state := "follower"
				if s.Leader {
					state = "leader"
				}
				rows = append(rows, []string{s.Node, s.ID, s.Address, state, strconv.FormatBool(s.Voter), s.RaftProtocol})
			}
			writeTable(c.stdout, []string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let any server answer (works without a leader)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the configuration as JSON")
	return cmd
}

func (c *cli) raftRemovePeerCommand() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "remove-peer -peer-id <id>",
		Short: "Remove a server from the Raft peers (it must be stopped, or it rejoins)",
		Args:  argsBetween(0, 0, "no arguments; give the peer with -peer-id"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return usageError(cmd.CommandPath(), "-peer-id is required (see the ID column of `nomadlike operator raft list-peers`)")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveRaftPeer(cmd.Context(), id); err != nil {
				return fail("removing Raft peer "+id, err,
					hintOn(err, "List the peers with 'nomadlike operator raft list-peers'.", http.StatusBadRequest, http.StatusNotFound))
			}
			c.out("Removed peer with id %q", id)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "peer-id", "", "the ID of the peer to remove")
	return cmd
}

func (c *cli) snapshotSaveCommand() *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "save [-stale] <file>",
		Short: "Save a snapshot of the cluster state to a file",
		Args:  argsBetween(1, 1, "the file to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			path := args[0]
			tmp, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*")
			if err != nil {
				return fail("creating "+path, err, "Choose a writable directory.")
			}
			defer os.Remove(tmp.Name()) // a no-op after the rename
			q := c.query()
			q.AllowStale = stale
			index, err := cl.SnapshotSave(cmd.Context(), q, tmp)
			if err == nil {
				err = tmp.Sync()
			}
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fail("saving the snapshot", err, "")
			}
			if _, err := os.Stat(path); err == nil {
				return fail("saving the snapshot", fmt.Errorf("%s already exists", path), "Choose another file name; snapshots are never overwritten.")
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return fail("saving the snapshot", err, "")
			}
			c.out("State file written to %s (index %d)", path, index)
			return nil
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let any server answer (works without a leader)")
	return cmd
}

func (c *cli) snapshotInspectCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect [-json] <file>",
		Short: "Show a snapshot file's index, term, size and object counts (checksums verified)",
		Args:  argsBetween(1, 1, "the snapshot file"),
		RunE: func(_ *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fail("opening the snapshot", err, "")
			}
			defer f.Close()
			info, err := agent.InspectSnapshot(f)
			if err != nil {
				return fail("inspecting "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, info)
			}
			writeKV(c.stdout, []kv{
				{"ID", info.ID}, {"Index", strconv.FormatUint(info.Index, 10)}, {"Term", strconv.FormatUint(info.Term, 10)},
				{"Size", strconv.FormatInt(info.Size, 10)}, {"Jobs", strconv.Itoa(info.Jobs)},
				{"Job versions", strconv.Itoa(info.JobVersions)}, {"Nodes", strconv.Itoa(info.Nodes)},
				{"Allocations", strconv.Itoa(info.Allocs)}, {"Evaluations", strconv.Itoa(info.Evals)},
			})
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func (c *cli) snapshotRestoreCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restore <file>",
		Short: "Replace the cluster's state with a snapshot's (every job, node, allocation and evaluation)",
		Args:  argsBetween(1, 1, "the snapshot file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return fail("opening the snapshot", err, "")
			}
			defer f.Close()
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.SnapshotRestore(cmd.Context(), f); err != nil {
				return fail("restoring "+args[0], err, "")
			}
			c.out("Snapshot restored")
			return nil
		},
	}
}

func (c *cli) gossipKeyringCommand() *cobra.Command {
	var generate, list bool
	var install, use, remove string
	cmd := &cobra.Command{
		Use:   "keyring [-generate | -list | -install <key> | -use <key> | -remove <key>]",
		Short: "Generate a gossip encryption key, or manage the keys the servers' gossip uses",
		Args:  argsBetween(0, 0, "no arguments; pick one of the flags"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{generate, list, install != "", use != "", remove != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return usageError(cmd.CommandPath(), "give exactly one of -generate, -list, -install, -use or -remove")
			}
			if generate {
				key := make([]byte, 32)
				if _, err := rand.Read(key); err != nil {
					return fail("generating a key", err, "")
				}
				fmt.Fprintln(c.stdout, base64.StdEncoding.EncodeToString(key))
				return nil
			}
			op, key := "list", ""
			switch {
			case install != "":
				op, key = "install", install
			case use != "":
				op, key = "use", use
			case remove != "":
				op, key = "remove", remove
			}
			if key != "" {
				if _, err := agent.GossipKey(key); err != nil {
					return usageError(cmd.CommandPath(), "%v", err)
				}
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			resp, err := cl.Keyring(cmd.Context(), op, key)
			if err != nil {
				return fail("keyring "+op, err, "")
			}
			printKeyring(c, op, resp)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&generate, "generate", false, "print a new random 32-byte key (base64) for server.encrypt")
	f.BoolVar(&list, "list", false, "list the keys installed on the servers")
	f.StringVar(&install, "install", "", "install a new key on every server")
	f.StringVar(&use, "use", "", "make an installed key the primary (encrypting) key")
	f.StringVar(&remove, "remove", "", "remove a key that is no longer primary")
	return cmd
}

func printKeyring(c *cli, op string, resp *api.KeyringResponse) {
	if op != "list" {
		c.out("Keyring %s done on %d servers", op, resp.NumNodes)
		return
	}
	keys := make([]string, 0, len(resp.Keys))
	for k := range resp.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rows [][]string
	for _, k := range keys {
		rows = append(rows, []string{k, fmt.Sprintf("%d/%d", resp.Keys[k], resp.NumNodes)})
	}
	writeTable(c.stdout, []string{"Key", "Servers"}, rows)
}
