package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// allocFSFlags are the options of `alloc fs`, as Nomad's.
type allocFSFlags struct {
	stat, follow, tail, job bool
	lines, bytes            int64
}

// fsFileInfo is Nomad's AllocFileInfo.
type fsFileInfo struct {
	Name        string
	IsDir       bool
	Size        int64
	FileMode    string
	ModTime     time.Time
	ContentType string
}

func (c *cli) allocFSCommand() *cobra.Command {
	var f allocFSFlags
	cmd := &cobra.Command{
		Use:   "fs [-stat] [-f] [-tail] [-n lines] [-c bytes] [-job] <alloc-id> [path]",
		Short: "List, stat, print or follow files of an allocation's directory",
		Args:  argsBetween(1, 2, "an allocation ID (or prefix) and optionally a path in its directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := "/"
			if len(args) == 2 {
				p = args[1]
			}
			fl := cmd.Flags()
			if fl.Changed("lines") || fl.Changed("bytes") {
				f.tail = true
			}
			if f.lines < 0 || f.bytes < 0 {
				return usageError("nomadlike alloc fs", "-n and -c must not be negative")
			}
			if f.tail && !fl.Changed("lines") && !fl.Changed("bytes") {
				f.lines = defaultTailLines
			}
			return c.allocFS(cmd.Context(), args[0], p, &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.stat, "stat", false, "show the file's (or directory's) information instead of its content")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing what is appended to the file until interrupted (Ctrl-C)")
	fl.BoolVar(&f.tail, "tail", false, "print the end of the file (10 lines unless -n or -c says otherwise)")
	fl.Int64VarP(&f.lines, "lines", "n", 0, "with -tail, how many lines from the end")
	fl.Int64VarP(&f.bytes, "bytes", "c", 0, "with -tail, how many bytes from the end")
	fl.BoolVar(&f.job, "job", false, "the ID is a job's: use its newest running allocation")
	return cmd
}

func (c *cli) allocFS(ctx context.Context, id, p string, f *allocFSFlags) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	alloc, err := c.resolveAllocOrJob(ctx, cl, id, f.job)
	if err != nil {
		return err
	}
	doing := fmt.Sprintf("reading %q in allocation %q", p, shortID(alloc.ID, false))
	get := func(endpoint string, params map[string]string) (*http.Response, error) {
		q := c.query()
		if q.Params == nil {
			q.Params = map[string]string{}
		}
		q.Params["path"] = p
		for k, v := range params {
			q.Params[k] = v
		}
		return cl.Do(ctx, http.MethodGet, "/v1/client/fs/"+endpoint+"/"+alloc.ID, q, nil)
	}
	decode := func(endpoint string, out any) error {
		resp, err := get(endpoint, nil)
		if err != nil {
			return fail(doing, err, "")
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fail(doing, fmt.Errorf("decode %s response: %w", endpoint, err), "")
		}
		return nil
	}
	var st fsFileInfo
	if err := decode("stat", &st); err != nil {
		return err
	}
	row := func(fi fsFileInfo) []string {
		name := fi.Name
		if fi.IsDir {
			name += "/"
		}
		return []string{fi.FileMode, strconv.FormatInt(fi.Size, 10), formatTime(fi.ModTime, time.Local), name}
	}
	header := []string{"Mode", "Size", "Modified Time", "Name"}
	switch {
	case f.stat:
		writeTable(c.stdout, header, [][]string{row(st)})
		return nil
	case st.IsDir:
		var list []fsFileInfo
		if err := decode("ls", &list); err != nil {
			return err
		}
		rows := make([][]string, 0, len(list))
		for _, fi := range list {
			rows = append(rows, row(fi))
		}
		writeTable(c.stdout, header, rows)
		return nil
	}
	origin, offset := "start", int64(0)
	if f.tail {
		origin, offset = "end", f.bytes
		if f.bytes == 0 {
			offset = max(f.lines*256, 16<<10)
		}
		resp, err := get("readat", map[string]string{"offset": strconv.FormatInt(max(st.Size-offset, 0), 10), "limit": strconv.FormatInt(offset, 10)})
		if err != nil {
			return fail(doing, err, "")
		}
		var buf bytes.Buffer
		_, err = io.Copy(&buf, resp.Body)
		resp.Body.Close()
		if err != nil {
			return fail(doing, err, "")
		}
		if f.bytes > 0 {
			c.stdout.Write(buf.Bytes())
		} else {
			for _, l := range lastLines(buf.String(), int(f.lines)) {
				c.out("%s", l)
			}
		}
		if !f.follow {
			return nil
		}
		offset = max(st.Size-offset, 0) + int64(buf.Len())
		origin = "start"
	}
	if !f.follow {
		resp, err := get("cat", nil)
		if err != nil {
			return fail(doing, err, "")
		}
		defer resp.Body.Close()
		_, err = io.Copy(c.stdout, resp.Body)
		return err
	}
	resp, err := get("stream", map[string]string{"origin": origin, "offset": strconv.FormatInt(offset, 10), "follow": "true"})
	if err != nil {
		return fail(doing, err, "")
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var fr api.StreamFrame
		if err := dec.Decode(&fr); err != nil {
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return fail(doing, err, "")
		}
		if len(fr.Data) > 0 {
			if _, err := c.stdout.Write(fr.Data); err != nil {
				return err
			}
		}
	}
}
