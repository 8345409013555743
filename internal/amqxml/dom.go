package amqxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of what the reader accepts: an activemq.xml is a few kilobytes;
// these only stop a hostile or broken file from taking the process down.
const (
	maxInput    = 4 << 20
	maxDepth    = 64
	maxElements = 100000
)

// elem is one XML element with what the translation needs: its local name,
// its attributes by local name, its children, its text and the line it
// starts on. used marks what the translation understood; everything else
// is reported at the end.
type elem struct {
	name   string
	space  string
	attrs  []attr
	kids   []*elem
	text   string
	line   int
	parent *elem
	used   bool
}

type attr struct {
	name  string
	value string
	used  bool
}

// parseXML reads data into a tree. Errors carry the line they were found
// on.
func parseXML(data []byte) (*elem, error) {
	if len(data) > maxInput {
		return nil, &lineError{1, fmt.Sprintf("file is %d bytes; an activemq.xml larger than %d bytes is not accepted", len(data), maxInput)}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// Spring files are UTF-8 or ASCII; a declared ISO-8859-1 is read as is.
	d.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (save the file as UTF-8)", charset)
	}
	var root *elem
	var stack []*elem
	count := 0
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &lineError{se.Line, "XML: " + se.Msg}
			}
			return nil, &lineError{line, "XML: " + err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, &lineError{line, fmt.Sprintf("more than %d elements", maxElements)}
			}
			if len(stack) >= maxDepth {
				return nil, &lineError{line, fmt.Sprintf("elements nested deeper than %d", maxDepth)}
			}
			e := &elem{name: t.Name.Local, space: t.Name.Space, line: line}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") ||
					a.Name.Space == "http://www.w3.org/2001/XMLSchema-instance" {
					continue
				}
				e.attrs = append(e.attrs, attr{name: a.Name.Local, value: a.Value})
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, &lineError{line, "more than one root element"}
				}
				root = e
			} else {
				p := stack[len(stack)-1]
				e.parent = p
				p.kids = append(p.kids, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				if len(top.text) < maxInput {
					top.text += string(t)
				}
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, &lineError{line, "text outside the root element"}
			}
		case xml.Directive:
			// <!DOCTYPE ...>: entities are not expanded by encoding/xml.
		}
	}
	if root == nil {
		return nil, &lineError{1, "no XML element in the file"}
	}
	return root, nil
}

type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// attr returns the raw value of the attribute named name and marks it
// used.
func (e *elem) attr(name string) (string, bool) {
	for i := range e.attrs {
		if e.attrs[i].name == name {
			e.attrs[i].used = true
			return e.attrs[i].value, true
		}
	}
	return "", false
}

// child returns the first child named name, marked used, or nil.
func (e *elem) child(name string) *elem {
	for _, k := range e.kids {
		if k.name == name {
			k.used = true
			return k
		}
	}
	return nil
}

// children returns every child named name, each marked used.
func (e *elem) children(name string) []*elem {
	var out []*elem
	for _, k := range e.kids {
		if k.name == name {
			k.used = true
			out = append(out, k)
		}
	}
	return out
}

// path names the element by its ancestors up to the broker, for messages:
// <persistenceAdapter><kahaDB>.
func (e *elem) path() string {
	var parts []string
	for p := e; p != nil && p.name != "beans"; p = p.parent {
		parts = append(parts, "<"+p.name+">")
		if p.name == "broker" {
			break
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return b.String()
}
