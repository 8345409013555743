package raftlog

import "github.com/hashicorp/raft"

// cache holds the newest entries, a contiguous run ending at the log's last
// index, bounded in count and in bytes of data and extensions. Cached
// entries' Data and Extensions alias the buffer their batch was written
// from, which nothing writes to again.
type cache struct {
	maxEnts  int
	maxBytes int64
	first    uint64     // index of ents[0]
	ents     []raft.Log // ents[i] is entry first+i
	bytes    int64      // data and extensions held
}

func entryBytes(e *raft.Log) int64 { return int64(len(e.Data) + len(e.Extensions)) }

// add appends a batch of contiguous entries, evicting the oldest beyond the
// bounds. A batch that does not follow the cached run replaces it.
func (c *cache) add(batch []raft.Log) {
	if c.maxEnts <= 0 || len(batch) == 0 {
		return
	}
	if len(c.ents) > 0 && batch[0].Index != c.first+uint64(len(c.ents)) {
		c.reset()
	}
	if len(c.ents) == 0 {
		c.first = batch[0].Index
	}
	for i := range batch {
		c.bytes += entryBytes(&batch[i])
	}
	c.ents = append(c.ents, batch...)
	drop := 0
	for drop < len(c.ents) && (len(c.ents)-drop > c.maxEnts || c.bytes > c.maxBytes) {
		c.bytes -= entryBytes(&c.ents[drop])
		drop++
	}
	c.dropFront(drop)
}

// get returns the cached entry index, or nil.
func (c *cache) get(index uint64) *raft.Log {
	if index < c.first || index-c.first >= uint64(len(c.ents)) {
		return nil
	}
	return &c.ents[index-c.first]
}

// dropBefore forgets the entries before index (a prefix delete).
func (c *cache) dropBefore(index uint64) {
	n := 0
	for n < len(c.ents) && c.first+uint64(n) < index {
		c.bytes -= entryBytes(&c.ents[n])
		n++
	}
	c.dropFront(n)
}

// truncateFrom forgets index and every entry after it (a suffix delete).
func (c *cache) truncateFrom(index uint64) {
	for len(c.ents) > 0 && c.first+uint64(len(c.ents))-1 >= index {
		last := len(c.ents) - 1
		c.bytes -= entryBytes(&c.ents[last])
		c.ents[last] = raft.Log{}
		c.ents = c.ents[:last]
	}
}

func (c *cache) dropFront(n int) {
	clear(c.ents[:n]) // let the batches' buffers go
	c.ents = c.ents[n:]
	c.first += uint64(n)
	if len(c.ents) == 0 {
		c.ents = nil
	}
}

func (c *cache) reset() {
	clear(c.ents)
	c.ents, c.bytes = nil, 0
}
