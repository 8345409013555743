package wire

import "hash/maphash"

// A connection's frames repeat the same short strings: its connection id
// inside every producer, consumer and message id, the destination names,
// the property keys. A Decoder remembers the last few it decoded
// (stringCache) and hands out the same string again instead of a copy of
// the frame's bytes each time.
const (
	cachedStrings   = 16 // slots of a stringCache
	maxCachedString = 96 // longer strings are not remembered
)

// stringCache maps short ASCII strings to the string decoded last for the
// same bytes: a small direct-mapped cache, one slot per hash; a string
// whose slot holds another replaces it. It holds at most
// cachedStrings*maxCachedString bytes of strings.
type stringCache struct {
	seed maphash.Seed
	tab  [cachedStrings]string
}

func newStringCache() *stringCache { return &stringCache{seed: maphash.MakeSeed()} }

// decode returns b decoded as DecodeModifiedUTF8 does.
func (c *stringCache) decode(b []byte) (string, error) {
	if len(b) == 0 || len(b) > maxCachedString || !ascii(b) {
		return DecodeModifiedUTF8(b)
	}
	slot := &c.tab[maphash.Bytes(c.seed, b)%cachedStrings]
	if *slot != string(b) { // compared without a copy
		*slot = string(b)
	}
	return *slot, nil
}

// ascii reports whether b is ASCII without NUL, which modified UTF-8
// encodes as itself.
func ascii(b []byte) bool {
	for _, c := range b {
		if c == 0 || c >= 0x80 {
			return false
		}
	}
	return true
}
