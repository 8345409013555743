package sqlstore

import (
	"maps"
	"slices"

	"github.com/piermq/pier/internal/store"
)

// index holds the size of every stored message, by destination and
// sequence number. It makes Usage and the size limit exact without asking
// the database what a removal frees. It is owned by the committer.
type index map[string]map[uint64]uint32

// row is a message's state after a group: present with body, or removed
// (body nil).
type row struct {
	size int64
	body []byte
}

// group is what a group of batches changes, net, over the index: the
// final state of every message it touched, the destinations it wiped
// (OpDeleteSub), the subscriptions it put or deleted, and
// the producer marks it raised. Batches are applied to it in order; the
// index itself changes only when the group's transaction has committed.
type group struct {
	base  index
	rows  map[string]map[uint64]row
	wiped map[string]bool
	subs  map[string]subChange
	prods map[string]int64

	bytes, messages int64
	lastSeq, mark   uint64
	adds            int
	sync            bool // some batch wants to be durable on return
}

func newGroup(base index, bytes, messages int64, lastSeq, mark uint64) *group {
	return &group{base: base, rows: map[string]map[uint64]row{}, wiped: map[string]bool{},
		subs: map[string]subChange{}, prods: map[string]int64{},
		bytes: bytes, messages: messages, lastSeq: lastSeq, mark: mark}
}

// lookup returns the size of (dest, seq) as of the group so far.
func (g *group) lookup(dest string, seq uint64) (int64, bool) {
	if r, ok := g.rows[dest][seq]; ok {
		return r.size, r.body != nil
	}
	if g.wiped[dest] {
		return 0, false
	}
	n, ok := g.base[dest][seq]
	return int64(n), ok
}

func (g *group) set(dest string, seq uint64, r row) {
	if g.rows[dest] == nil {
		g.rows[dest] = map[uint64]row{}
	}
	g.rows[dest][seq] = r
}

func (g *group) forget(dest string, seq uint64) {
	if n, ok := g.lookup(dest, seq); ok {
		g.bytes -= n
		g.messages--
	}
}

// apply adds a batch (already checked and encoded) to the group.
func (g *group) apply(r *request) {
	for i, op := range r.b.Ops {
		switch op.Kind {
		case store.OpAdd:
			g.forget(op.Dest, op.Seq)
			body := r.enc[i]
			g.set(op.Dest, op.Seq, row{size: int64(len(body)), body: body})
			g.bytes += int64(len(body))
			g.messages++
			g.lastSeq = max(g.lastSeq, op.Seq)
			g.adds++
			if id, pseq := op.Msg.ProducerID, op.Msg.ProducerSeq; id != "" && pseq > 0 {
				g.prods[id] = max(g.prods[id], pseq)
			}
		case store.OpRemove:
			g.forget(op.Dest, op.Seq)
			g.set(op.Dest, op.Seq, row{})
		case store.OpPutSub:
			g.subs[op.Sub.Key()] = subChange{sub: *op.Sub, put: true}
		case store.OpDeleteSub:
			g.subs[op.Sub.Key()] = subChange{sub: *op.Sub}
			g.wipe(op.Sub.Dest)
		}
	}
	g.mark = max(g.mark, r.b.Mark)
	g.sync = g.sync || !r.b.NoSync
}

// wipe removes every message of dest.
func (g *group) wipe(dest string) {
	if !g.wiped[dest] {
		for seq, n := range g.base[dest] {
			if _, over := g.rows[dest][seq]; !over {
				g.bytes -= int64(n)
				g.messages--
			}
		}
	}
	for _, r := range g.rows[dest] {
		if r.body != nil {
			g.bytes -= r.size
			g.messages--
		}
	}
	delete(g.rows, dest)
	g.wiped[dest] = true
}

// statements returns the group's writes in an order that gives the same
// result as its batches in order: wipes, then removals, then inserts (the
// rows are net states, so no two statements touch one message), then
// subscriptions and producers.
func (g *group) statements(d sqlDialect, written int64) []stmt {
	var out []stmt
	if len(g.wiped) > 0 {
		for _, dest := range slices.Sorted(maps.Keys(g.wiped)) {
			out = append(out, stmt{`DELETE FROM pier_messages WHERE dest = ` + ph(d, 1), []any{[]byte(dest)}})
		}
	}
	var ins []msgRow
	for _, dest := range slices.Sorted(maps.Keys(g.rows)) {
		var del []uint64
		for seq, r := range g.rows[dest] {
			if r.body != nil {
				ins = append(ins, msgRow{dest: dest, seq: seq, body: r.body})
			} else if !g.wiped[dest] {
				del = append(del, seq)
			}
		}
		if len(del) > 0 {
			slices.Sort(del)
			out = append(out, d.deleteMessages(dest, del)...)
		}
	}
	if len(ins) > 0 {
		out = append(out, d.upsertMessages(ins)...)
	}
	for _, key := range slices.Sorted(maps.Keys(g.subs)) {
		out = append(out, subStmt(d, g.subs[key]))
	}
	if len(g.prods) > 0 {
		rows := make([]prodRow, 0, len(g.prods))
		for _, id := range slices.Sorted(maps.Keys(g.prods)) {
			rows = append(rows, prodRow{id: id, seq: g.prods[id]})
		}
		out = append(out, d.upsertProducers(rows, written)...)
	}
	return out
}

// subChange is a subscription put (put) or deleted.
type subChange struct {
	sub store.Subscription
	put bool
}

func subStmt(d sqlDialect, c subChange) stmt {
	s := c.sub
	if !c.put {
		return stmt{`DELETE FROM pier_subscriptions WHERE client_id = ` + ph(d, 1) + ` AND name = ` + ph(d, 2),
			[]any{[]byte(s.ClientID), []byte(s.Name)}}
	}
	return stmt{d.upsertSub(), []any{[]byte(s.ClientID), []byte(s.Name), []byte(s.Topic), []byte(s.Selector),
		s.NoLocal, []byte(s.Dest), []byte(s.Remote), int64(s.TTL)}}
}

// merge makes the committed group part of the index.
func (g *group) merge() {
	for dest := range g.wiped {
		delete(g.base, dest)
	}
	for dest, rows := range g.rows {
		m := g.base[dest]
		for seq, r := range rows {
			switch {
			case r.body != nil && m == nil:
				m = map[uint64]uint32{}
				g.base[dest] = m
				fallthrough
			case r.body != nil:
				m[seq] = uint32(r.size)
			default:
				delete(m, seq)
			}
		}
		if m != nil && len(m) == 0 {
			delete(g.base, dest)
		}
	}
}

func ph(d sqlDialect, n int) string {
	if _, ok := d.(pgDialect); ok {
		return Postgres.Placeholder(n)
	}
	return MySQL.Placeholder(n)
}
