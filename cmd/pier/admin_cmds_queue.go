package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/piermq/pier/internal/admin"
)

// pier queue, pier conn and pier group: the subcommands and their tables.

func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSubcommands(ctx, "queue", queueUsage, queueSubcommands(), args, stdout, stderr)
}

func runConn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSubcommands(ctx, "conn", connCmdUsage, []subcommand{
		{name: "list", run: connList},
		{name: "close", args: []string{"ID"}, run: connClose},
	}, args, stdout, stderr)
}

func runGroup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSubcommands(ctx, "group", groupUsage, []subcommand{{name: "status", run: groupStatus}},
		args, stdout, stderr)
}

// listOpts are the flags of queue list.
type listOpts struct {
	kind, filter, sort string
	desc               bool
	offset, limit      int
}

// pageOpts are the flags of queue browse.
type pageOpts struct{ offset, limit int }

// moveOpts are the flags of queue move and retry.
type moveOpts struct {
	to, ids string
	copy    bool
}

func queueSubcommands() []subcommand {
	return []subcommand{
		{name: "list", flags: func(fs *flag.FlagSet) any {
			o := &listOpts{}
			fs.StringVar(&o.kind, "type", "queue", "queue, topic or all")
			fs.StringVar(&o.filter, "filter", "", "only names containing this text (case-insensitive)")
			fs.StringVar(&o.sort, "sort", "name", "order by name, depth, enqueued, dequeued or consumers")
			fs.BoolVar(&o.desc, "desc", false, "largest first")
			fs.IntVar(&o.offset, "offset", 0, "skip this many")
			fs.IntVar(&o.limit, "limit", 100, "show at most this many (1 to 1000)")
			return o
		}, run: queueList},
		{name: "browse", args: []string{"NAME"}, flags: func(fs *flag.FlagSet) any {
			o := &pageOpts{}
			fs.IntVar(&o.offset, "offset", 0, "skip this many messages")
			fs.IntVar(&o.limit, "limit", 50, "show at most this many (1 to 1000)")
			return o
		}, run: queueBrowse},
		{name: "purge", args: []string{"NAME"}, run: queuePurge},
		{name: "move", args: []string{"NAME"}, flags: func(fs *flag.FlagSet) any {
			o := &moveOpts{}
			fs.StringVar(&o.to, "to", "", "where to: queue://NAME or topic://NAME")
			fs.StringVar(&o.ids, "ids", "", "the message ids, comma-separated (default: every message)")
			fs.BoolVar(&o.copy, "copy", false, "copy: leave the messages where they are too")
			return o
		}, run: queueMove},
		{name: "retry", args: []string{"NAME"}, flags: func(fs *flag.FlagSet) any {
			o := &moveOpts{}
			fs.StringVar(&o.ids, "ids", "", "the message ids, comma-separated (default: every message)")
			return o
		}, run: queueRetry},
		{name: "delete", args: []string{"NAME"}, run: queueDelete},
	}
}

// splitIDs returns the ids of a comma-separated list, nil for none.
func splitIDs(s string) []string {
	var ids []string
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// printJSON prints an answer as the console gave it, indented.
func (o *adminOut) printJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		_, err := o.w.Write(data)
		return err
	}
	enc := json.NewEncoder(o.w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func queueList(ctx context.Context, c *adminClient, _ []string, opts any, out *adminOut) error {
	o := opts.(*listOpts)
	q := url.Values{"sort": {o.sort}, "offset": {strconv.Itoa(o.offset)}, "limit": {strconv.Itoa(o.limit)}}
	switch o.kind {
	case "queue", "topic":
		q.Set("type", o.kind)
	case "all":
	default:
		return fmt.Errorf("--type %q: want queue, topic or all", o.kind)
	}
	if o.filter != "" {
		q.Set("q", o.filter)
	}
	if o.desc {
		q.Set("desc", "1")
	}
	var page struct {
		Total int              `json:"total"`
		Items []admin.DestJSON `json:"items"`
	}
	data, err := c.call(ctx, http.MethodGet, "/api/v1/destinations", q, nil, &page)
	if err != nil || out.json {
		return errors.Join(err, out.jsonIf(data, err))
	}
	tw := tabwriter.NewWriter(out.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDEPTH\tIN FLIGHT\tENQUEUED\tDEQUEUED\tEXPIRED\tCONSUMERS\tPRODUCERS")
	for _, d := range page.Items {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Name, d.Type, d.Depth, d.InFlight, d.Enqueued,
			d.Dequeued, d.Expired, d.Consumers, d.Producers)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(page.Items) < page.Total {
		fmt.Fprintf(out.w, "(%d to %d of %d; --offset and --limit show others)\n", o.offset+1, o.offset+len(page.Items), page.Total)
	}
	return nil
}

// jsonIf prints data as JSON when out is for JSON and the call succeeded.
func (o *adminOut) jsonIf(data []byte, err error) error {
	if err != nil || !o.json {
		return nil
	}
	return o.printJSON(data)
}

func queueBrowse(ctx context.Context, c *adminClient, args []string, opts any, out *adminOut) error {
	o := opts.(*pageOpts)
	q := url.Values{"offset": {strconv.Itoa(o.offset)}, "limit": {strconv.Itoa(o.limit)}}
	var page struct {
		Total int                 `json:"total"`
		Items []admin.MessageJSON `json:"items"`
	}
	data, err := c.call(ctx, http.MethodGet, queuePath(args[0], "/messages"), q, nil, &page)
	if err != nil || out.json {
		return errors.Join(err, out.jsonIf(data, err))
	}
	tw := tabwriter.NewWriter(out.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tID\tTIME\tPRIO\tPERSISTENT\tDELIVERIES\tORIGIN\tBODY")
	for _, m := range page.Items {
		when := time.UnixMilli(m.Timestamp).Local().Format(time.DateTime)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%t\t%d\t%s\t%s\n", m.Position, m.ID, when, m.Priority, m.Persistent,
			m.DeliveryCount, m.OriginalDestination, preview(m))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out.w, "(%d to %d of %d messages on %s)\n", min(o.offset+1, o.offset+len(page.Items)),
		o.offset+len(page.Items), page.Total, args[0])
	return nil
}

// preview shortens a body preview to one table cell.
func preview(m admin.MessageJSON) string {
	if m.BodyPreviewEncoding != "" {
		return fmt.Sprintf("(%s, %d bytes)", m.BodyKind, m.BodySize)
	}
	s := strings.Join(strings.Fields(m.BodyPreview), " ")
	if r := []rune(s); len(r) > 40 {
		s = string(r[:39]) + "…"
	}
	return s
}

// count calls a change that answers {key: n} and prints what it did.
func count(ctx context.Context, c *adminClient, path, key string, body any, out *adminOut, say string) error {
	var res map[string]int
	data, err := c.call(ctx, http.MethodPost, path, nil, body, &res)
	if err != nil || out.json {
		return errors.Join(err, out.jsonIf(data, err))
	}
	_, err = fmt.Fprintf(out.w, say+"\n", res[key])
	return err
}

func queuePurge(ctx context.Context, c *adminClient, args []string, _ any, out *adminOut) error {
	return count(ctx, c, queuePath(args[0], "/purge"), "removed", struct{}{}, out,
		"purged %d message(s) from "+args[0])
}

func queueMove(ctx context.Context, c *adminClient, args []string, opts any, out *adminOut) error {
	o := opts.(*moveOpts)
	if o.to == "" {
		return errors.New("give --to queue://NAME or topic://NAME")
	}
	verb := "moved"
	if o.copy {
		verb = "copied"
	}
	body := struct {
		IDs  []string `json:"ids,omitempty"`
		To   string   `json:"to"`
		Copy bool     `json:"copy"`
	}{splitIDs(o.ids), o.to, o.copy}
	return count(ctx, c, queuePath(args[0], "/move"), "moved", body, out,
		verb+" %d message(s) from "+args[0]+" to "+o.to)
}

func queueRetry(ctx context.Context, c *adminClient, args []string, opts any, out *adminOut) error {
	body := struct {
		IDs []string `json:"ids,omitempty"`
	}{splitIDs(opts.(*moveOpts).ids)}
	return count(ctx, c, queuePath(args[0], "/retry"), "retried", body, out,
		"sent %d message(s) from "+args[0]+" back to their original destinations")
}

func queueDelete(ctx context.Context, c *adminClient, args []string, _ any, out *adminOut) error {
	if _, err := c.call(ctx, http.MethodDelete, queuePath(args[0], ""), nil, nil, nil); err != nil {
		return err
	}
	if out.json {
		return nil
	}
	_, err := fmt.Fprintf(out.w, "deleted queue %s\n", args[0])
	return err
}

func connList(ctx context.Context, c *adminClient, _ []string, _ any, out *adminOut) error {
	var page struct {
		Items []admin.ConnJSON `json:"items"`
	}
	data, err := c.call(ctx, http.MethodGet, "/api/v1/connections", nil, nil, &page)
	if err != nil || out.json {
		return errors.Join(err, out.jsonIf(data, err))
	}
	tw := tabwriter.NewWriter(out.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROTOCOL\tREMOTE\tUSER\tCLIENT ID\tCONSUMERS\tPRODUCERS\tSINCE")
	for _, ci := range page.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", ci.ID, ci.Protocol, ci.Remote, ci.User, ci.ClientID,
			ci.Consumers, ci.Producers, ci.Since.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

func connClose(ctx context.Context, c *adminClient, args []string, _ any, out *adminOut) error {
	path := "/api/v1/connections/" + url.PathEscape(args[0])
	if _, err := c.call(ctx, http.MethodDelete, path, nil, nil, nil); err != nil {
		return err
	}
	if out.json {
		return nil
	}
	_, err := fmt.Fprintf(out.w, "closed connection %s\n", args[0])
	return err
}

// errDegraded is a group status that found the group degraded.
var errDegraded = errors.New("the group is degraded")

func groupStatus(ctx context.Context, c *adminClient, _ []string, _ any, out *adminOut) error {
	var g admin.Group
	data, err := c.call(ctx, http.MethodGet, "/api/v1/group", nil, nil, &g)
	if err != nil {
		return err
	}
	if out.json {
		err = out.printJSON(data)
	} else {
		err = printGroup(out.w, &g)
	}
	if err != nil {
		return err
	}
	if why := degraded(&g); why != "" {
		return fmt.Errorf("%w: %s", errDegraded, why)
	}
	return nil
}

// degraded says why a group is degraded, "" if it is not.
func degraded(g *admin.Group) string {
	var down []string
	leader := false
	for _, m := range g.Members {
		if m.Error != "" {
			down = append(down, m.ID)
		}
		leader = leader || m.Role == "master"
	}
	switch {
	case len(down) > 0:
		return "no answer from " + strings.Join(down, ", ")
	case g.Kind == "replicated" && !leader && g.Role != "master":
		return "no member is master"
	}
	return ""
}

func printGroup(w io.Writer, g *admin.Group) error {
	fmt.Fprintf(w, "group:  %s\nrole:   %s\n", g.Kind, g.Role)
	if g.Self != "" {
		fmt.Fprintf(w, "self:   %s\n", g.Self)
	}
	if g.Master != "" {
		fmt.Fprintf(w, "master: %s\n", g.Master)
	}
	if g.Term != 0 {
		fmt.Fprintf(w, "term:   %d\n", g.Term)
	}
	if len(g.Members) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tROLE\tSTATE\tTERM\tCOMMIT\tAPPLIED\tLAG\tCLIENT URL")
	for _, m := range g.Members {
		if m.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\tunreachable\t\t\t\t\t\t(%s)\n", m.ID, m.Address, m.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", m.ID, m.Address, m.Role, m.State, m.Term,
			m.CommitIndex, m.AppliedIndex, m.Lag, m.ClientURL)
	}
	return tw.Flush()
}
