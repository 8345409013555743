package amqxml

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ynode is one node of the YAML the import writes: a mapping key with a
// scalar value, a nested mapping, or a sequence of mappings. Each knows the
// XML line it came from, for the comment beside it and for errors found in
// the YAML later.
type ynode struct {
	key    string
	scalar *string
	kids   []*ynode
	seq    bool // kids are the items of a sequence (their keys are empty)
	line   int  // XML line; 0: none
	note   string
}

// at returns the mapping at the dotted path under n, making it when
// missing.
func (n *ynode) at(path string) *ynode { return n.walk(path, true) }

// walk follows the dotted path under n; a missing key is made when make is
// set, else the walk ends with nil.
func (n *ynode) walk(path string, make bool) *ynode {
	cur := n
	for _, k := range strings.Split(path, ".") {
		var next *ynode
		for _, c := range cur.kids {
			if c.key == k {
				next = c
				break
			}
		}
		if next == nil {
			if !make {
				return nil
			}
			next = &ynode{key: k}
			cur.kids = append(cur.kids, next)
		}
		cur = next
	}
	return cur
}

// set writes a scalar at the dotted path, replacing an earlier one.
func (n *ynode) set(path string, value any, from *elem, note string) {
	v := render(value)
	dst := n.at(path)
	dst.scalar, dst.kids = &v, nil
	if from != nil {
		dst.line = from.line
	}
	dst.note = note
}

// item appends a mapping to the sequence at path and returns it.
func (n *ynode) item(path string) *ynode {
	s := n.at(path)
	s.seq = true
	it := &ynode{}
	s.kids = append(s.kids, it)
	return it
}

// render turns a Go value into a YAML scalar, quoted where YAML needs it.
func render(v any) string {
	switch x := v.(type) {
	case string:
		out, err := yaml.Marshal(x)
		if err != nil {
			return strconv.Quote(x)
		}
		s := strings.TrimSuffix(string(out), "\n")
		if strings.Contains(s, "\n") {
			return strconv.Quote(x)
		}
		return s
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return render(fmt.Sprint(v))
}

// writer renders the tree and remembers the XML line of each YAML line.
type writer struct {
	b     strings.Builder
	file  string
	lines []int // XML line of each YAML line, from 1 (index 0 unused)
}

func (w *writer) line(text string, xmlLine int, note string) {
	w.b.WriteString(text)
	switch {
	case xmlLine > 0 && note != "":
		fmt.Fprintf(&w.b, "  # %s:%d %s", w.file, xmlLine, note)
	case xmlLine > 0:
		fmt.Fprintf(&w.b, "  # %s:%d", w.file, xmlLine)
	case note != "":
		fmt.Fprintf(&w.b, "  # %s", note)
	}
	w.b.WriteByte('\n')
	w.lines = append(w.lines, xmlLine)
}

// mapping writes the kids of n, a mapping, at indent; prefix replaces the
// indent of the first line (for "- " of a sequence item).
func (w *writer) mapping(n *ynode, indent, prefix string) {
	for i, k := range n.kids {
		lead := indent
		if i == 0 && prefix != "" {
			lead = prefix
		}
		switch {
		case k.scalar != nil:
			w.line(lead+k.key+": "+*k.scalar, k.line, k.note)
		case k.seq:
			w.line(lead+k.key+":", 0, k.note)
			for _, it := range k.kids {
				if len(it.kids) == 0 {
					continue
				}
				w.mapping(it, indent+"    ", indent+"  - ")
			}
		default:
			w.line(lead+k.key+":", 0, k.note)
			w.mapping(k, indent+"  ", "")
		}
	}
}
