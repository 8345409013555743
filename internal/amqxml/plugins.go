package amqxml

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// harmlessPlugins log or count and change nothing clients see.
var harmlessPlugins = map[string]string{
	"loggingBrokerPlugin":              "Pier logs connections and state changes itself",
	"statisticsBrokerPlugin":           "Pier's statistics are in the console, the REST API and /metrics",
	"traceBrokerPathPlugin":            "",
	"runtimeConfigurationPlugin":       "Pier reads its configuration at start",
	"connectionDotFilePlugin":          "",
	"destinationDotFilePlugin":         "",
	"multicastTraceBrokerPlugin":       "",
	"udpTraceBrokerPlugin":             "",
	"virtualSelectorCacheBrokerPlugin": "",
	"destinationsPlugin":               "",
}

func (im *importer) plugins(p *elem) {
	for _, k := range p.kids {
		k.used = true
		switch k.name {
		case "simpleAuthenticationPlugin":
			im.simpleAuthentication(k)
		case "jaasAuthenticationPlugin":
			im.jaasAuthentication(k)
		case "authorizationPlugin":
			im.authorization(k)
		case "redeliveryPlugin":
			im.redeliveryPlugin(k)
		default:
			if why, ok := harmlessPlugins[k.name]; ok {
				markAll(k)
				if why == "" {
					why = "it does not change what clients see"
				}
				im.warn(k, "<%s> ignored: %s", k.name, why)
				continue
			}
			markAll(k)
			im.fail(k, "<%s>: plugin not supported; it may change how messages or clients are treated, so Pier does not start without it being removed", k.name)
		}
	}
}

func (im *importer) simpleAuthentication(a *elem) {
	im.authn = true
	if v, ok := im.get(a, "anonymousAccessAllowed"); ok && im.boolean(a, "anonymousAccessAllowed", v) {
		im.out.set("security.allow_anonymous", true, a, "<simpleAuthenticationPlugin anonymousAccessAllowed>")
	}
	users := a.child("users")
	if users == nil {
		im.fail(a, "<simpleAuthenticationPlugin> without <users>")
		return
	}
	plain := 0
	for _, u := range users.kids {
		u.used = true
		if u.name != "authenticationUser" {
			im.fail(u, "<%s> in <users>: want <authenticationUser username password groups>", u.name)
			continue
		}
		name, _ := im.get(u, "username")
		pass, _ := im.get(u, "password")
		groups, _ := im.get(u, "groups")
		if name == "" {
			im.fail(u, "<authenticationUser> without a username")
			continue
		}
		hash := pass
		if im.opts.HashPassword != nil {
			h, err := im.opts.HashPassword(pass)
			if err != nil {
				im.fail(u, "user %q: %v", name, err)
				continue
			}
			hash = h
		}
		plain++
		it := im.out.item("security.users")
		it.set("name", name, u, "<authenticationUser username>")
		it.set("password_hash", hash, u, "bcrypt of <authenticationUser password>")
		it.set("groups", splitList(groups), u, "<authenticationUser groups>")
		im.restAttrs(u, nil)
	}
	if plain > 0 {
		im.warn(users, "%d plain-text passwords in the XML: Pier keeps only their bcrypt hashes in memory, but the file still holds them; move the users to a YAML configuration with `pier config import` (which writes the hashes) and protect or delete this file", plain)
	}
	im.restAttrs(a, map[string]string{"anonymousUser": "", "anonymousGroup": ""})
}

func splitList(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// loginModule matches one module of a JAAS login.config entry: the class,
// the flag, the options up to the semicolon.
var loginModule = regexp.MustCompile(`([\w.$]+)\s+(required|requisite|sufficient|optional)\s*([^;]*);`)

// loginOption matches name="value" or name=value.
var loginOption = regexp.MustCompile(`([\w.]+)\s*=\s*("[^"]*"|[^\s]+)`)

// jaasAuthentication reads the login.config entry the plugin names (in
// ${activemq.conf}, where ActiveMQ's start script points JAAS) and takes
// its PropertiesLoginModule's users and groups files.
func (im *importer) jaasAuthentication(a *elem) {
	im.authn = true
	name, ok := im.get(a, "configuration")
	if !ok {
		name = "activemq"
	}
	conf, _ := im.props.lookup("activemq.conf")
	path := filepath.Join(conf, "login.config")
	data, err := im.opts.ReadFile(path)
	if err != nil {
		im.fail(a, "<jaasAuthenticationPlugin configuration=%q>: %v (Pier reads the JAAS entry from login.config in ${activemq.conf})", name, err)
		return
	}
	body, ok := jaasEntry(string(data), name)
	if !ok {
		im.fail(a, "<jaasAuthenticationPlugin configuration=%q>: %s has no entry %q", name, path, name)
		return
	}
	mods := loginModule.FindAllStringSubmatch(body, -1)
	if len(mods) == 0 {
		im.fail(a, "%s entry %q: no login module", path, name)
		return
	}
	for _, m := range mods {
		if m[1] != "org.apache.activemq.jaas.PropertiesLoginModule" {
			im.fail(a, "%s entry %q: login module %s is not supported (PropertiesLoginModule is: users.properties and groups.properties)", path, name, m[1])
			return
		}
		opts := map[string]string{}
		for _, o := range loginOption.FindAllStringSubmatch(m[3], -1) {
			opts[o[1]] = strings.Trim(o[2], `"`)
		}
		users, groups := opts["org.apache.activemq.jaas.properties.user"], opts["org.apache.activemq.jaas.properties.group"]
		if users == "" || groups == "" {
			im.fail(a, "%s entry %q: PropertiesLoginModule without the org.apache.activemq.jaas.properties.user and .group options", path, name)
			return
		}
		dir := filepath.Dir(path)
		if !filepath.IsAbs(users) {
			users = filepath.Join(dir, users)
		}
		if !filepath.IsAbs(groups) {
			groups = filepath.Join(dir, groups)
		}
		im.out.set("security.users_file", users, a, "PropertiesLoginModule user file of login.config entry "+strconv.Quote(name))
		im.out.set("security.groups_file", groups, a, "PropertiesLoginModule group file of login.config entry "+strconv.Quote(name))
	}
	im.restAttrs(a, map[string]string{"discoverLoginConfig": ""})
}

// jaasEntry returns the body of the named entry of a login.config file:
// name { ... };
func jaasEntry(conf, name string) (string, bool) {
	// Comments: // to the end of a line, /* ... */.
	conf = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(conf, "")
	conf = regexp.MustCompile(`(?m)//.*$`).ReplaceAllString(conf, "")
	re := regexp.MustCompile(`(?s)(?:^|[\s;}])` + regexp.QuoteMeta(name) + `\s*\{(.*?)\}\s*;`)
	m := re.FindStringSubmatch(conf)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func (im *importer) authorization(a *elem) {
	m := a.child("map")
	if m == nil {
		im.fail(a, "<authorizationPlugin> without <map>")
		return
	}
	for _, am := range m.kids {
		am.used = true
		if am.name != "authorizationMap" {
			im.fail(am, "<%s>: only <authorizationMap> entries are supported (LDAP authorization is not)", am.name)
			continue
		}
		if es := am.child("authorizationEntries"); es != nil {
			for _, e := range es.kids {
				e.used = true
				if e.name != "authorizationEntry" {
					im.fail(e, "<%s> in <authorizationEntries> not understood", e.name)
					continue
				}
				kind, pattern, ok := im.kindPattern(e)
				if !ok {
					im.fail(e, "<authorizationEntry> without queue=\"...\" or topic=\"...\"")
					continue
				}
				it := im.out.item("security.authorization")
				it.set(kind, pattern, e, "<authorizationEntry "+kind+">")
				im.grants(e, it)
			}
		}
		if t := am.child("tempDestinationAuthorizationEntry"); t != nil {
			if e := t.child("tempDestinationAuthorizationEntry"); e != nil {
				im.grants(e, im.out.at("security.temp_destinations"))
			}
		}
		if d := am.child("defaultEntry"); d != nil {
			markAll(d)
			im.fail(d, "<defaultEntry> of the authorization map: write it as <authorizationEntry queue=\">\" .../> and topic=\">\"")
		}
		for _, k := range am.kids {
			if !k.used {
				markAll(k)
				im.fail(k, "<%s> in <authorizationMap> not understood", k.name)
			}
		}
	}
}

func (im *importer) grants(e *elem, dst *ynode) {
	for _, g := range []string{"read", "write", "admin"} {
		if v, ok := im.get(e, g); ok {
			dst.set(g, splitList(v), e, "<"+e.name+" "+g+">")
		}
	}
	im.restAttrs(e, nil)
}

func (im *importer) redeliveryPlugin(p *elem) {
	if v, ok := im.get(p, "fallbackToDeadLetter"); ok && !im.boolean(p, "fallbackToDeadLetter", v) {
		im.warn(p, "<redeliveryPlugin fallbackToDeadLetter=\"false\">: Pier sends messages without a matching policy to the dead letter queue")
	}
	if v, ok := im.get(p, "sendToDlqIfMaxRetriesExceeded"); ok && !im.boolean(p, "sendToDlqIfMaxRetriesExceeded", v) {
		im.warn(p, "<redeliveryPlugin sendToDlqIfMaxRetriesExceeded=\"false\">: Pier sends a message past max_redeliveries to the dead letter queue")
	}
	outer := p.child("redeliveryPolicyMap")
	if outer == nil {
		im.fail(p, "<redeliveryPlugin> without <redeliveryPolicyMap>")
		return
	}
	rm := outer.child("redeliveryPolicyMap")
	if rm == nil {
		im.fail(outer, "<redeliveryPolicyMap> without the inner <redeliveryPolicyMap>")
		return
	}
	if d := rm.child("defaultEntry"); d != nil {
		for _, r := range d.children("redeliveryPolicy") {
			im.redeliveryPolicy(r, im.out.at("policies"))
		}
	}
	if es := rm.child("redeliveryPolicyEntries"); es != nil {
		for _, r := range es.children("redeliveryPolicy") {
			kind, pattern, ok := im.kindPattern(r)
			if !ok {
				im.fail(r, "<redeliveryPolicy> in <redeliveryPolicyEntries> without queue=\"...\" or topic=\"...\"")
				continue
			}
			im.redeliveryPolicy(r, im.policyFor(kind, pattern, r))
		}
	}
	im.restAttrs(p, nil)
}

func parseFloat(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil
}

// finishSecurity decides anonymous access: ActiveMQ without an
// authentication plugin lets anyone connect; Pier refuses listeners beyond
// loopback without users unless told, so the translation says it, loudly.
func (im *importer) finishSecurity(b *elem) {
	if im.authn || len(im.exposed) == 0 && !im.consoleExposed {
		return
	}
	im.out.set("security.allow_anonymous", true, b, "no authentication plugin: anyone may connect, as with ActiveMQ")
	what := strings.Join(im.exposed, ", ")
	if im.consoleExposed {
		if what != "" {
			what += " and "
		}
		what += "the console"
	}
	im.warn(b, "no authentication plugin and %s open beyond loopback: anyone who can reach them may connect, as with this ActiveMQ configuration; add a <simpleAuthenticationPlugin> or <jaasAuthenticationPlugin>", what)
}

// sslContext takes ActiveMQ's key and trust stores (Java key stores,
// PKCS#12 or JKS) as Pier's tls.keystore_file and tls.truststore_file.
func (im *importer) sslContext(s *elem) {
	c := s.child("sslContext")
	if c == nil {
		im.fail(s, "<sslContext> without the inner <sslContext>")
		return
	}
	im.sslFrom = c
	for _, st := range []struct{ attr, key string }{
		{"keyStore", "tls.keystore_file"}, {"keyStorePassword", "tls.keystore_password"},
		{"trustStore", "tls.truststore_file"}, {"trustStorePassword", "tls.truststore_password"},
	} {
		v, ok := im.get(c, st.attr)
		if !ok {
			continue
		}
		if !strings.HasSuffix(st.attr, "Password") {
			v = im.resource(v)
		}
		im.out.set(st.key, v, c, "<sslContext "+st.attr+">")
	}
	if _, ok := c.attr("keyStore"); !ok {
		im.fail(c, "<sslContext> without a keyStore: the broker's certificate")
	}
	for _, t := range []string{"keyStoreType", "trustStoreType"} {
		if v, ok := im.get(c, t); ok && !strings.EqualFold(v, "jks") && !strings.EqualFold(v, "pkcs12") {
			im.fail(c, "<sslContext %s=%q>: Pier reads JKS and PKCS12 stores", t, v)
		}
	}
	if kp, ok := im.get(c, "keyStoreKeyPassword"); ok {
		if sp, _ := c.attr("keyStorePassword"); kp != sp {
			im.fail(c, "<sslContext keyStoreKeyPassword>: differs from keyStorePassword; Pier opens the key entry with the store's password (keytool -keypasswd changes it)")
		}
	}
	im.restAttrs(c, map[string]string{"protocol": "Pier speaks TLS 1.2 and 1.3", "keyStoreAlgorithm": "", "trustStoreAlgorithm": "",
		"secureRandomAlgorithm": "", "provider": ""})
}

// resource turns a Spring resource (file:, classpath:, or a path) into a
// path: classpath: is ActiveMQ's conf directory.
func (im *importer) resource(v string) string {
	switch {
	case strings.HasPrefix(v, "file:"):
		return strings.TrimPrefix(v, "file:")
	case strings.HasPrefix(v, "classpath:"):
		c, _ := im.props.lookup("activemq.conf")
		return filepath.Join(c, strings.TrimPrefix(v, "classpath:"))
	}
	return v
}
