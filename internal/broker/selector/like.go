package selector

import (
	"strings"
	"unicode/utf8"
)

// likeTok is one element of a LIKE segment: a literal run of text, or (lit
// empty) the '_' wildcard matching exactly one character.
type likeTok struct {
	lit string
}

func (t likeTok) isOne() bool { return t.lit == "" }

// likePattern is a LIKE pattern compiled once at parse time: the pattern
// split at '%' into segments of literals and '_'.
type likePattern struct {
	segs        [][]likeTok
	anyPercent  bool // at least one '%'
	anchorStart bool // no '%' before the first segment
	anchorEnd   bool // no '%' after the last segment
}

// compileLike compiles pattern. esc is the escape character, or -1 for none.
// As in ActiveMQ, the escape character escapes only '%', '_' and itself;
// anywhere else it stands for itself.
func compileLike(pattern string, esc rune) *likePattern {
	p := &likePattern{anchorStart: true, anchorEnd: true}
	var seg []likeTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			seg = append(seg, likeTok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		r, w := utf8.DecodeRuneInString(pattern[i:])
		if esc >= 0 && r == esc && i+w < len(pattern) {
			n, nw := utf8.DecodeRuneInString(pattern[i+w:])
			if n == '%' || n == '_' || n == esc {
				lit.WriteString(pattern[i+w : i+w+nw])
				i += w + nw
				continue
			}
		}
		switch r {
		case '%':
			flush()
			if seg != nil {
				p.segs = append(p.segs, seg)
				seg = nil
			} else if len(p.segs) == 0 {
				p.anchorStart = false
			}
			p.anyPercent = true
			p.anchorEnd = false
		case '_':
			flush()
			seg = append(seg, likeTok{})
		default:
			lit.WriteString(pattern[i : i+w])
		}
		i += w
	}
	flush()
	if seg != nil {
		p.segs = append(p.segs, seg)
		p.anchorEnd = true
	}
	if len(p.segs) == 0 && p.anyPercent {
		p.anchorStart = false
	}
	return p
}

// match reports whether s matches the whole pattern. It never allocates.
// Every segment has a fixed length in characters, so taking the leftmost
// match of each middle segment is always right and no backtracking is needed.
func (p *likePattern) match(s string) bool {
	segs := p.segs
	if !p.anyPercent {
		if len(segs) == 0 {
			return s == ""
		}
		end, ok := matchAt(segs[0], s, 0)
		return ok && end == len(s)
	}
	pos, limit := 0, len(s)
	if p.anchorStart && len(segs) > 0 {
		end, ok := matchAt(segs[0], s, 0)
		if !ok {
			return false
		}
		pos, segs = end, segs[1:]
	}
	if p.anchorEnd && len(segs) > 0 {
		start, ok := matchSuffix(segs[len(segs)-1], s)
		if !ok || start < pos {
			return false
		}
		limit, segs = start, segs[:len(segs)-1]
	}
	for _, seg := range segs {
		end, ok := find(seg, s[:limit], pos)
		if !ok {
			return false
		}
		pos = end
	}
	return true
}

// matchAt matches seg against s starting at byte i and returns the end.
func matchAt(seg []likeTok, s string, i int) (int, bool) {
	for _, t := range seg {
		if t.isOne() {
			if i >= len(s) {
				return 0, false
			}
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
			continue
		}
		if !strings.HasPrefix(s[i:], t.lit) {
			return 0, false
		}
		i += len(t.lit)
	}
	return i, true
}

// matchSuffix matches seg against the end of s and returns where it starts.
func matchSuffix(seg []likeTok, s string) (int, bool) {
	end := len(s)
	for k := len(seg) - 1; k >= 0; k-- {
		t := seg[k]
		if t.isOne() {
			if end == 0 {
				return 0, false
			}
			_, w := utf8.DecodeLastRuneInString(s[:end])
			end -= w
			continue
		}
		if !strings.HasSuffix(s[:end], t.lit) {
			return 0, false
		}
		end -= len(t.lit)
	}
	return end, true
}

// find returns the end of the leftmost match of seg in s at or after from.
func find(seg []likeTok, s string, from int) (int, bool) {
	for i := from; i <= len(s); {
		if lead := seg[0]; !lead.isOne() {
			j := strings.Index(s[i:], lead.lit)
			if j < 0 {
				return 0, false
			}
			i += j
		}
		if end, ok := matchAt(seg, s, i); ok {
			return end, true
		}
		if i == len(s) {
			break
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return 0, false
}
