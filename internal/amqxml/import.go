// Package amqxml reads ActiveMQ's activemq.xml (a Spring file with a
// <broker> element) and writes the Pier YAML configuration it stands for,
// with a comment on every translated line naming its XML source. `pier
// serve --config activemq.xml` runs what it writes; `pier config import`
// prints it. What the file holds that Pier does not understand is listed
// by line: an element that changes behaviour is an error, one that does not
// (JMX, Jetty, logging) a warning.
package amqxml

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/piermq/pier/internal/config"
)

// Options are the inputs besides the file.
type Options struct {
	// Properties are --property NAME=VALUE values for ${NAME}
	// placeholders; they win over every other source.
	Properties map[string]string
	// Getenv reads the environment (ACTIVEMQ_BASE, ACTIVEMQ_CONF,
	// ACTIVEMQ_DATA, and placeholders found nowhere else); nil: os.Getenv.
	Getenv func(string) string
	// ReadFile reads the files the configuration names (jetty.xml,
	// properties files, login.config); nil: os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// HashPassword turns a plain-text password of the XML into the hash
	// security.users keeps; nil: the password is written as is, which the
	// YAML then refuses (tests of the translation alone).
	HashPassword func(string) (string, error)
}

// Note is a warning about the file: something ignored, with its line.
type Note struct {
	Line int
	Msg  string
}

// Result is a translated file.
type Result struct {
	// YAML is the configuration, commented.
	YAML []byte
	// Warnings are what was ignored, in file order.
	Warnings []Note
	file     string
	lines    []int // XML line of each YAML line (1-based index)
}

// Detect reports whether data is an XML file (its first significant byte
// is '<'), which for a configuration means ActiveMQ's format rather than
// YAML.
func Detect(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '<'
}

// Import translates an activemq.xml. file names it in messages and locates
// the files it refers to (its directory is ${activemq.conf} unless
// ACTIVEMQ_CONF says otherwise). The error is a config.Errors located in
// the XML file.
func Import(file string, data []byte, opts Options) (*Result, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	im := &importer{
		file: file,
		opts: opts,
		dir:  filepath.Dir(file),
		out:  &ynode{},
		props: &properties{given: opts.Properties, files: map[string]string{},
			env: opts.Getenv, conf: filepath.Dir(file)},
		beans: map[string]*elem{},
	}
	root, err := parseXML(data)
	if err != nil {
		var le *lineError
		if errors.As(err, &le) {
			return nil, config.Errors{{File: file, Line: le.line, Msg: le.msg, Err: config.ErrSyntax}}
		}
		return nil, err
	}
	im.run(root)
	if len(im.errs) > 0 {
		slices.SortStableFunc(im.errs, func(a, b *config.Error) int { return a.Line - b.Line })
		return nil, im.errs
	}
	// The sections in the order of Pier's reference.
	order := []string{"broker", "transports", "console", "store", "network_connectors", "limits", "policies", "tls", "security"}
	slices.SortStableFunc(im.out.kids, func(a, b *ynode) int {
		return slices.Index(order, a.key) - slices.Index(order, b.key)
	})
	w := &writer{file: filepath.Base(file), lines: []int{0}}
	w.line(fmt.Sprintf("# Translated by pier config import from %s.", file), 0, "")
	w.line("# Each line names the line of the XML it comes from.", 0, "")
	w.mapping(im.out, "", "")
	slices.SortStableFunc(im.warns, func(a, b Note) int { return a.Line - b.Line })
	return &Result{YAML: []byte(w.b.String()), Warnings: im.warns, file: file, lines: w.lines}, nil
}

// Load translates an activemq.xml and parses the result as `pier serve`
// does; errors found in the YAML are reported at the XML line the value
// came from.
func Load(file string, data []byte, opts Options) (*config.Config, *Result, error) {
	res, err := Import(file, data, opts)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := config.Parse(file+" (translated)", res.YAML)
	if err != nil {
		return nil, res, res.locate(err)
	}
	return cfg, res, nil
}

// locate moves the errors of the translated YAML to the XML lines their
// values came from.
func (r *Result) locate(err error) error {
	var es config.Errors
	if !errors.As(err, &es) {
		return err
	}
	out := make(config.Errors, 0, len(es))
	for _, e := range es {
		c := *e
		c.File, c.Column = r.file, 0
		if e.Line > 0 && e.Line < len(r.lines) {
			c.Line = r.lines[e.Line]
		} else {
			c.Line = 0
		}
		c.Msg = e.Msg + " (in the translated YAML; `pier config import` shows it)"
		out = append(out, &c)
	}
	return out
}

type importer struct {
	file  string
	dir   string
	opts  Options
	props *properties
	beans map[string]*elem
	out   *ynode
	errs  config.Errors
	warns []Note
	// listeners beyond loopback, for the anonymous-access decision
	exposed []string
	// transports by protocol key, for "a second connector" errors
	transports map[string]*elem
	// the largest per-connector limits, which Pier applies broker-wide
	maxConns, maxFrame int64
	maxConnsFrom       *elem
	maxFrameFrom       *elem
	authn              bool
	connectors         int // <transportConnector>s seen
	// <storeUsage limit>, written once the store's kind is known
	storeLimit     int64
	storeLimitFrom *elem
	consoleExposed bool
	needClientAuth *elem
	sslFrom        *elem // the inner <sslContext>
	bridges        []string
	policies       []*policy
}

func (im *importer) fail(e *elem, format string, args ...any) {
	line := 0
	if e != nil {
		line = e.line
	}
	im.errs = append(im.errs, &config.Error{File: im.file, Line: line,
		Msg: fmt.Sprintf(format, args...), Err: config.ErrInvalid})
}

func (im *importer) warn(e *elem, format string, args ...any) {
	im.warns = append(im.warns, Note{Line: e.line, Msg: fmt.Sprintf(format, args...)})
}

// get returns the attribute's value with its placeholders expanded; a
// placeholder that cannot be resolved is an error at the element's line.
func (im *importer) get(e *elem, name string) (string, bool) {
	raw, ok := e.attr(name)
	if !ok {
		return "", false
	}
	v, err := im.props.expand(raw)
	if err != nil {
		im.fail(e, "%s %s: %v", e.path(), name, err)
		return "", false
	}
	return v, true
}

func (im *importer) run(root *elem) {
	root.used = true
	var broker *elem
	switch root.name {
	case "broker":
		broker = root
	case "beans":
		for _, k := range root.kids {
			if k.name == "bean" {
				if id, ok := k.attr("id"); ok {
					im.beans[id] = k
				}
			}
		}
		for _, k := range root.kids {
			if k.name == "bean" && isPlaceholderConfigurer(k) {
				im.placeholderConfigurer(k)
			}
		}
		brokers := root.children("broker")
		if len(brokers) > 1 {
			im.fail(brokers[1], "a second <broker>: one Pier process runs one broker (the first is at line %d)", brokers[0].line)
			return
		}
		if len(brokers) == 1 {
			broker = brokers[0]
		}
	default:
		im.fail(root, "the root element is <%s>: an ActiveMQ configuration is a Spring <beans> file holding a <broker>, or a <broker>", root.name)
		return
	}
	if broker == nil {
		im.fail(root, "no <broker> element: this is not an ActiveMQ broker configuration")
		return
	}
	im.broker(broker)
	jetty := ""
	if root.name == "beans" {
		jetty = im.topLevel(root)
	}
	im.jetty(root, jetty)
	im.finishSecurity(broker)
	im.finishPolicies()
	im.leftovers(broker)
}

// isPlaceholderConfigurer reports whether a bean loads properties for
// ${...} placeholders.
func isPlaceholderConfigurer(b *elem) bool {
	class, _ := b.attr("class")
	return strings.HasSuffix(class, "PropertyPlaceholderConfigurer") ||
		strings.HasSuffix(class, "PropertySourcesPlaceholderConfigurer")
}

// placeholderConfigurer loads the properties files a Spring placeholder
// configurer names (location, or locations with <value>s or a <list>).
func (im *importer) placeholderConfigurer(b *elem) {
	b.used = true
	class, _ := b.attr("class")
	if strings.Contains(class, "Encryptable") {
		im.warn(b, "%s: encrypted property values (ENC(...)) are not decrypted by Pier; a placeholder whose value is encrypted is refused where it is used", short(class))
	}
	for _, p := range b.children("property") {
		name, _ := p.attr("name")
		if name != "location" && name != "locations" {
			im.warn(p, "property %q of the placeholder configurer ignored", name)
			continue
		}
		var locs []string
		if v, ok := p.attr("value"); ok {
			locs = append(locs, v)
		}
		var walk func(e *elem)
		walk = func(e *elem) {
			for _, k := range e.kids {
				k.used = true
				if k.name == "value" {
					locs = append(locs, strings.TrimSpace(k.text))
				}
				walk(k)
			}
		}
		walk(p)
		for _, l := range locs {
			im.loadProperties(p, l)
		}
	}
	for _, a := range b.attrs {
		if !a.used && a.name != "id" {
			im.warn(b, "attribute %s of the placeholder configurer ignored", a.name)
		}
	}
	for _, k := range b.kids {
		if !k.used {
			k.used = true
			im.warn(k, "<%s> of the placeholder configurer ignored", k.name)
		}
	}
}

func (im *importer) loadProperties(at *elem, loc string) {
	path, err := im.props.expand(loc)
	if err != nil {
		im.fail(at, "properties location %q: %v", loc, err)
		return
	}
	switch {
	case strings.HasPrefix(path, "file:"):
		path = strings.TrimPrefix(path, "file:")
	case strings.HasPrefix(path, "classpath:"):
		// ActiveMQ's class path starts with its conf directory.
		c, _ := im.props.lookup("activemq.conf")
		path = filepath.Join(c, strings.TrimPrefix(path, "classpath:"))
	}
	data, err := im.opts.ReadFile(path)
	if err != nil {
		im.fail(at, "properties file %s: %v (give its values with --property NAME=VALUE instead, or remove the location)", path, err)
		return
	}
	ps, err := parseProperties(data)
	if err != nil {
		im.fail(at, "properties file %s: %v", path, err)
		return
	}
	for k, v := range ps {
		if _, ok := im.props.files[k]; !ok {
			im.props.files[k] = v
		}
	}
}

// short is a Java class name without its package.
func short(class string) string {
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		return class[i+1:]
	}
	return class
}
