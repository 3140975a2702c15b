package command

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// writeTable writes a header and rows as aligned columns, two spaces apart,
// as Nomad's CLI does.
func writeTable(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// kv is one "Key = Value" line of a details block.
type kv struct{ k, v string }

// writeKV writes key/value pairs with the "=" signs aligned:
//
//	ID     = 8ba85cef
//	Status = running
func writeKV(w io.Writer, pairs []kv) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, p := range pairs {
		fmt.Fprintf(tw, "%s\t= %s\n", p.k, p.v)
	}
	tw.Flush()
}

// writeJSON prints v indented, for -json.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// formatTime renders t in loc as Nomad's CLI does (RFC 3339). The CLI passes
// its clock's location: the local zone in production.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "<none>"
	}
	return t.In(loc).Format(time.RFC3339)
}

// formatUnixNano renders a unix-nanosecond timestamp with formatTime.
func formatUnixNano(ns int64, loc *time.Location) string {
	if ns == 0 {
		return "<none>"
	}
	return formatTime(time.Unix(0, ns), loc)
}

// prettyTimeDiff renders how long before now t was, with at most two units:
// "12s ago", "3m10s ago", "2h5m ago", "4d3h ago"; "in 5s" for the future.
func prettyTimeDiff(t, now time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	d := now.Sub(t).Round(time.Second)
	suffix := " ago"
	prefix := ""
	if d < 0 {
		d = -d
		prefix, suffix = "in ", ""
	}
	units := []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}}
	var parts []string
	for i, u := range units {
		if n := d / u.d; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			if i+1 < len(units) {
				next := units[i+1]
				if m := (d - n*u.d) / next.d; m > 0 {
					parts = append(parts, fmt.Sprintf("%d%s", m, next.name))
				}
			}
			break
		}
	}
	if len(parts) == 0 {
		parts = []string{"0s"}
	}
	return prefix + strings.Join(parts, "") + suffix
}

// formatMB renders a size in MiB with a readable unit: "64 MiB", "1.5 GiB".
func formatMB(mb int64) string {
	switch {
	case mb >= 1024*1024:
		return trimFloat(float64(mb)/(1024*1024)) + " TiB"
	case mb >= 1024:
		return trimFloat(float64(mb)/1024) + " GiB"
	}
	return fmt.Sprintf("%d MiB", mb)
}

// formatMHz renders CPU in MHz: "100 MHz", "2.4 GHz".
func formatMHz(mhz int64) string {
	if mhz >= 1000 {
		return trimFloat(float64(mhz)/1000) + " GHz"
	}
	return fmt.Sprintf("%d MHz", mhz)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// shortID shortens an ID to 8 characters unless verbose.
func shortID(id string, verbose bool) string {
	if verbose || len(id) <= 8 {
		return id
	}
	return id[:8]
}

// orNone renders an empty string as "<none>".
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// unixNano converts a unix-nanosecond timestamp; 0 is the zero time.
func unixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
