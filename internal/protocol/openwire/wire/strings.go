package wire

import "hash/maphash"

// A connection's frames repeat the same short strings: its connection id
// inside every producer, consumer and message id, the destination names,
// the property keys. A Decoder remembers the last few it decoded
// (stringCache) and hands out the same string again instead of a copy of
// the frame's bytes each time.
const (
	cacheSets       = 16 // of a stringCache, two strings each
	maxCachedString = 96 // longer strings are not remembered
)

// stringCache maps short ASCII strings to the string decoded last for the
// same bytes: two strings for each hash value (a set), the one used last
// first; a new string takes the place of the other. A string used in
// every frame thus stays while strings seen once (a message's id) come
// and go. It holds at most 2*cacheSets*maxCachedString bytes of strings.
type stringCache struct {
	seed maphash.Seed
	sets [cacheSets][2]string
}

func newStringCache() *stringCache { return &stringCache{seed: maphash.MakeSeed()} }

// decode returns b decoded as DecodeModifiedUTF8 does.
func (c *stringCache) decode(b []byte) (string, error) {
	if !cacheable(b) {
		return DecodeModifiedUTF8(b)
	}
	return c.intern(b), nil
}

// cacheable: b is short and ASCII without NUL, which modified UTF-8
// encodes as itself.
func cacheable(b []byte) bool { return len(b) > 0 && len(b) <= maxCachedString && ascii(b) }

// intern returns string(b), b cacheable.
func (c *stringCache) intern(b []byte) string {
	set := &c.sets[maphash.Bytes(c.seed, b)%cacheSets]
	switch { // string(b) == s compares without a copy
	case string(b) == set[0]:
	case string(b) == set[1]:
		set[0], set[1] = set[1], set[0]
	default:
		set[0], set[1] = string(b), set[0]
	}
	return set[0]
}

// ascii reports whether b is ASCII without NUL: its modified UTF-8 is
// itself.
func ascii[S string | []byte](b S) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c == 0 || c >= 0x80 {
			return false
		}
	}
	return true
}
