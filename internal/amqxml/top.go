package amqxml

import (
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/piermq/pier/internal/config"
)

// ignoredElements are <broker> children that change nothing a client
// sees, with the reason given in the warning.
var ignoredElements = map[string]string{
	"managementContext":            "Pier has no JMX; its console, REST API and /metrics show the same",
	"shutdownHooks":                "Pier stops cleanly on SIGTERM",
	"destinations":                 "Pier makes destinations when they are first used",
	"ioExceptionHandler":           "Pier stops serving when its store fails",
	"brokerContext":                "",
	"producerSystemUsage":          "",
	"consumerSystemUsage":          "",
	"adminView":                    "",
	"tempDataStore":                "",
	"persistenceTaskRunnerFactory": "",
	"taskRunnerFactory":            "",
}

// topLevel handles the Spring file's other elements: imports and beans. It
// returns the Jetty file the XML imports, which holds the console's
// address.
func (im *importer) topLevel(root *elem) (jetty string) {
	for _, k := range root.kids {
		switch k.name {
		case "broker":
		case "import":
			k.used = true
			res, _ := im.get(k, "resource")
			base := strings.ToLower(filepath.Base(res))
			switch {
			case strings.HasPrefix(base, "jetty"):
				jetty = res
			case strings.HasPrefix(base, "camel"):
				im.fail(k, "<import resource=%q>: Camel routes are not supported; remove the import", res)
			default:
				im.fail(k, "<import resource=%q>: Pier reads only the Jetty file an activemq.xml imports", res)
			}
			im.restAttrs(k, nil)
		case "bean":
			if k.used {
				continue
			}
			k.used = true
			markAll(k)
			class, _ := k.attr("class")
			id, _ := k.attr("id")
			im.warn(k, "<bean id=%q class=%q> ignored: the broker does not use it", id, class)
		default:
			if !k.used {
				k.used = true
				markAll(k)
				im.warn(k, "<%s> ignored", k.name)
			}
		}
	}
	return jetty
}

// jetty reads the console's address from the Jetty file: the one the XML
// imports, else a jetty.xml beside the file. Without one the console keeps
// Pier's default address.
func (im *importer) jetty(root *elem, res string) {
	imported := res != ""
	if res == "" {
		res = "jetty.xml"
	}
	path := res
	if !filepath.IsAbs(path) {
		path = filepath.Join(im.dir, res)
	}
	data, err := im.opts.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && !imported:
		return
	default:
		im.fail(root, "%s: %v", path, err)
		return
	}
	j, err := parseXML(data)
	if err != nil {
		im.fail(root, "%s: %v", path, err)
		return
	}
	var walk func(e *elem) *elem
	walk = func(e *elem) *elem {
		if c, _ := e.attr("class"); e.name == "bean" && c == "org.apache.activemq.web.WebConsolePort" {
			return e
		}
		for _, k := range e.kids {
			if f := walk(k); f != nil {
				return f
			}
		}
		return nil
	}
	bean := walk(j)
	if bean == nil {
		im.warn(root, "%s has no WebConsolePort bean: the console keeps Pier's default address", path)
		return
	}
	host, port := "127.0.0.1", "8161"
	sub := &importer{file: path, opts: im.opts, props: im.props}
	ps := sub.beanProperties(bean)
	im.errs = append(im.errs, sub.errs...)
	if v, _ := ps.get("host"); v != "" {
		host = v
	}
	if v, _ := ps.get("port"); v != "" {
		port = v
	}
	if err := config.CheckPort(port); err != nil {
		im.fail(root, "%s line %d: console port: %v", path, bean.line, err)
		return
	}
	hp := net.JoinHostPort(host, port)
	im.out.set("console.listen", hp, nil, filepath.Base(path)+":"+strconv.Itoa(bean.line)+" WebConsolePort host and port")
	if !config.IsLoopback(hp) {
		im.consoleExposed = true
	}
}

// leftovers reports what the translation did not take from the broker
// element: a known harmless element is a warning, anything else an error
// (Pier cannot know that it changes nothing).
func (im *importer) leftovers(e *elem) {
	for _, k := range e.kids {
		if k.used {
			im.leftovers(k)
			continue
		}
		markAll(k)
		if why, ok := ignoredElements[k.name]; ok && e.name == "broker" {
			if why == "" {
				im.warn(k, "<%s> ignored", k.name)
			} else {
				im.warn(k, "<%s> ignored: %s", k.name, why)
			}
			continue
		}
		if k.name == "destinationInterceptors" && defaultVirtualTopics(k) {
			im.warn(k, "<destinationInterceptors> with ActiveMQ's default virtual topics: Pier's are the same (VirtualTopic.> to Consumer.*.VirtualTopic.>)")
			continue
		}
		im.fail(k, "%s is not understood by Pier: it may change how the broker behaves, so Pier does not start with it (remove it, or translate it by hand with `pier config import`)", k.path())
	}
}

// defaultVirtualTopics reports whether an interceptor list holds only
// virtual topics with ActiveMQ's default names.
func defaultVirtualTopics(k *elem) bool {
	ok := true
	var walk func(e *elem)
	walk = func(e *elem) {
		switch e.name {
		case "destinationInterceptors", "virtualDestinationInterceptor", "virtualDestinations":
		case "virtualTopic":
			for _, a := range e.attrs {
				switch {
				case a.name == "name" && (a.value == ">" || a.value == "VirtualTopic.>"):
				case a.name == "prefix" && a.value == "Consumer.*.":
				case a.name == "selectorAware" && a.value == "false":
				default:
					ok = false
				}
			}
		default:
			ok = false
		}
		for _, c := range e.kids {
			walk(c)
		}
	}
	walk(k)
	return ok
}
