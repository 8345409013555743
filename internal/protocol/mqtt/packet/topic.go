package packet

import (
	"fmt"
	"strings"
)

// ValidTopicName checks a topic name as PUBLISH carries it (MQTT 5.0
// section 4.7): at least one character, UTF-8 without U+0000, at most
// 65535 bytes, no wildcard. The error is an *Error with reason Topic Name
// invalid; the decoder refuses such a name as a Malformed Packet.
func ValidTopicName(name string) error {
	if problem := topicNameProblem(name); problem != "" {
		return &Error{Reason: TopicNameInvalid, Msg: fmt.Sprintf("topic name %q: %s", name, problem)}
	}
	return nil
}

// ValidTopicFilter checks a topic filter as SUBSCRIBE and UNSUBSCRIBE
// carry it (sections 4.7.1 and, for MQTT 5, 4.8.2): "#" only as the whole
// last level, "+" only as a whole level, and in MQTT 5 a filter starting
// with "$share/" a shared subscription, $share/{ShareName}/{filter}, whose
// ShareName is not empty and has no "/", "+" or "#". The error is an
// *Error with reason Topic Filter invalid.
func ValidTopicFilter(filter string, version byte) error {
	if problem := filterProblem(filter, version); problem != "" {
		return &Error{Reason: TopicFilterInvalid, Msg: fmt.Sprintf("topic filter %q: %s", filter, problem)}
	}
	return nil
}

const sharePrefix = "$share/"

func isShared(filter string) bool { return strings.HasPrefix(filter, sharePrefix) }

// SplitShared splits an MQTT 5 shared subscription filter into its share
// name and the filter proper; ok is false for a filter that is not a
// well-formed shared subscription.
func SplitShared(filter string) (share, inner string, ok bool) {
	rest, found := strings.CutPrefix(filter, sharePrefix)
	if !found {
		return "", "", false
	}
	share, inner, found = strings.Cut(rest, "/")
	if !found || share == "" || strings.ContainsAny(share, "+#") || utf8Problem(share) != "" || plainFilterProblem(inner) != "" {
		return "", "", false
	}
	return share, inner, true
}

func topicNameProblem(name string) string {
	if problem := nameShapeProblem(name); problem != "" {
		return problem
	}
	if len(name) > 0xffff {
		return "longer than 65535 bytes"
	}
	return utf8Problem(name)
}

// nameShapeProblem is what topicNameProblem finds in a string the decoder
// has already found to be valid UTF-8 of at most 65535 bytes.
func nameShapeProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case strings.ContainsAny(name, "+#"):
		return "contains a wildcard"
	}
	return ""
}

func filterProblem(filter string, version byte) string {
	if version != Version5 || !isShared(filter) {
		return plainFilterProblem(filter)
	}
	rest := filter[len(sharePrefix):]
	share, inner, found := strings.Cut(rest, "/")
	switch {
	case share == "":
		return "shared subscription with an empty share name"
	case strings.ContainsAny(share, "+#"):
		return "share name with a wildcard"
	case !found:
		return "shared subscription without a topic filter"
	}
	if problem := plainFilterProblem(inner); problem != "" {
		return problem
	}
	return utf8Problem(share)
}

func plainFilterProblem(filter string) string {
	if filter == "" {
		return "empty"
	}
	if len(filter) > 0xffff {
		return "longer than 65535 bytes"
	}
	for rest := filter; ; {
		level, after, more := strings.Cut(rest, "/")
		switch {
		case level == "#" && more:
			return `"#" not the last level`
		case level != "#" && strings.Contains(level, "#"):
			return `"#" not a whole level`
		case level != "+" && strings.Contains(level, "+"):
			return `"+" not a whole level`
		}
		if !more {
			break
		}
		rest = after
	}
	return utf8Problem(filter)
}

// Match reports whether the topic name matches the topic filter (section
// 4.7): "+" matches one level, "#" the parent level and any number of
// levels below, and a filter starting with a wildcard matches no name
// starting with "$" (4.7.2). A shared subscription's filter is matched
// without its $share/{ShareName}/ prefix (see SplitShared). Both are taken
// as valid.
func Match(filter, name string) bool {
	if strings.HasPrefix(name, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		nl, nrest, nmore := strings.Cut(name, "/")
		if fl != "+" && fl != nl {
			return false
		}
		switch {
		case !fmore:
			return !nmore
		case !nmore:
			return frest == "#"
		}
		filter, name = frest, nrest
	}
}
