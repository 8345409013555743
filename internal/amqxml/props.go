package amqxml

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/piermq/pier/internal/auth"
)

// properties resolves ${name} and ${name:default} placeholders the way
// ActiveMQ's Spring context does: from the --property values, then the
// files a PropertyPlaceholderConfigurer loads, then ActiveMQ's own
// activemq.* names (from ACTIVEMQ_BASE, ACTIVEMQ_CONF, ACTIVEMQ_DATA), then
// the environment.
type properties struct {
	given map[string]string // --property NAME=VALUE
	files map[string]string // from placeholder configurers' files
	env   func(string) string
	conf  string // directory of the XML file
}

// builtin is ActiveMQ's value of the activemq.* names, as its start
// script sets them: base from ACTIVEMQ_BASE (default "."), home from
// ACTIVEMQ_HOME (default base), conf from ACTIVEMQ_CONF (default the
// directory of the configuration file, where it is read from), data from
// ACTIVEMQ_DATA (default base/data, so ./data).
func (p *properties) builtin(name string) (string, bool) {
	base := p.env("ACTIVEMQ_BASE")
	if base == "" {
		base = "."
	}
	switch name {
	case "activemq.base":
		return base, true
	case "activemq.home":
		if h := p.env("ACTIVEMQ_HOME"); h != "" {
			return h, true
		}
		return base, true
	case "activemq.conf":
		if c := p.env("ACTIVEMQ_CONF"); c != "" {
			return c, true
		}
		return p.conf, true
	case "activemq.data":
		if d := p.env("ACTIVEMQ_DATA"); d != "" {
			return d, true
		}
		if base == "." {
			return "./data", true
		}
		return filepath.Join(base, "data"), true
	}
	return "", false
}

func (p *properties) lookup(name string) (string, bool) {
	if v, ok := p.given[name]; ok {
		return v, true
	}
	if v, ok := p.files[name]; ok {
		return v, true
	}
	if v, ok := p.builtin(name); ok {
		return v, true
	}
	if v := p.env(name); v != "" {
		return v, true
	}
	return "", false
}

// expand replaces every placeholder in s. An unknown name without a
// default is an error that says how to give it.
func (p *properties) expand(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated placeholder %q", s[i:])
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":")
		if name == "" {
			return "", fmt.Errorf("empty placeholder ${%s}", expr)
		}
		v, ok := p.lookup(name)
		switch {
		case ok:
		case hasDef:
			v = def
		default:
			return "", fmt.Errorf("${%s} is not defined: give it with --property %s=VALUE (or define it in a properties file the configuration loads)", name, name)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

// parseProperties reads a Java properties file into a map (a key defined twice keeps its last value, as Java's
// Properties does).
func parseProperties(data []byte) (map[string]string, error) {
	ps, err := auth.ParseProperties(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		out[p.Key] = p.Value
	}
	return out, nil
}
