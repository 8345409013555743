package auth

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Property is one key=value of a Java properties file.
type Property struct {
	Key, Value string
	Line       int // where the entry starts, 1-based
}

// maxPropertiesSize bounds a properties file: user and group files are small.
const maxPropertiesSize = 16 << 20

// ParseProperties reads the Java properties format that ActiveMQ's JAAS
// users.properties and groups.properties files use: one key=value (or
// key:value, or key value) per logical line; # and ! start comments; a
// line ending in an odd number of backslashes continues on the next;
// \t \n \r \f \uXXXX and \X (X itself) are escapes.
func ParseProperties(data []byte) ([]Property, error) {
	if len(data) > maxPropertiesSize {
		return nil, fmt.Errorf("auth: properties file larger than %d bytes", maxPropertiesSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("auth: properties file is not UTF-8")
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	var out []Property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continued(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if continued(line) {
			line = line[:len(line)-1]
		}
		rawKey, rawValue := splitProperty(line)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("auth: line %d: %w", start, err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("auth: line %d: %w", start, err)
		}
		out = append(out, Property{Key: key, Value: value, Line: start})
	}
	return out, nil
}

// continued reports whether a line ends in an odd number of backslashes.
func continued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits a logical line at its first unescaped separator
// (=, : or white space, with white space around it).
func splitProperty(line string) (key, value string) {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '=', ':':
			return line[:i], strings.TrimLeft(line[i+1:], " \t\f")
		case ' ', '\t', '\f':
			rest := strings.TrimLeft(line[i:], " \t\f")
			if rest != "" && (rest[0] == '=' || rest[0] == ':') {
				rest = strings.TrimLeft(rest[1:], " \t\f")
			}
			return line[:i], rest
		}
	}
	return line, ""
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\u escape")
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\u escape %q", s[i-1:i+5])
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// UsersFromProperties builds users from ActiveMQ's JAAS files: users
// (user=password) and groups (group=user1,user2; may be nil). A password
// shaped like a bcrypt hash is one; any other is plain text, accepted but
// counted in plain so the caller can warn. Users named in groups but not
// in users are reported in unknown.
func UsersFromProperties(users, groups []byte) (out []User, plain int, unknown []string, err error) {
	up, err := ParseProperties(users)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("users file: %w", err)
	}
	byName := map[string]*User{}
	for _, p := range up {
		if p.Key == "" {
			return nil, 0, nil, fmt.Errorf("users file: line %d: an empty user name", p.Line)
		}
		if byName[p.Key] != nil {
			return nil, 0, nil, fmt.Errorf("users file: line %d: user %q is listed twice", p.Line, p.Key)
		}
		if strings.HasPrefix(p.Value, "ENC(") {
			return nil, 0, nil, fmt.Errorf("users file: line %d: user %q: ENC(...) (Jasypt) passwords are not supported; use a bcrypt hash from `pier passwd`", p.Line, p.Key)
		}
		u := &User{Name: p.Key, Hash: p.Value}
		if !isBcrypt(p.Value) {
			u.Plain = true
			plain++
		}
		byName[p.Key] = u
	}
	gp, err := ParseProperties(groups)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("groups file: %w", err)
	}
	seenUnknown := map[string]bool{}
	for _, p := range gp {
		for _, name := range strings.Split(p.Value, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			u := byName[name]
			if u == nil {
				if !seenUnknown[name] {
					seenUnknown[name] = true
					unknown = append(unknown, name)
				}
				continue
			}
			u.Groups = append(u.Groups, p.Key)
		}
	}
	for _, u := range byName {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.Strings(unknown)
	return out, plain, unknown, nil
}

// LoadUserFiles reads ActiveMQ's JAAS users and groups files (groupsPath
// may be empty) with UsersFromProperties.
func LoadUserFiles(usersPath, groupsPath string) (users []User, plain int, unknown []string, err error) {
	ud, err := os.ReadFile(usersPath)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("auth: %w", err)
	}
	var gd []byte
	if groupsPath != "" {
		if gd, err = os.ReadFile(groupsPath); err != nil {
			return nil, 0, nil, fmt.Errorf("auth: %w", err)
		}
	}
	users, plain, unknown, err = UsersFromProperties(ud, gd)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("auth: %w", err)
	}
	return users, plain, unknown, nil
}
