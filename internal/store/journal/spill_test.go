package journal

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/vfs"
)

// TestSpillReclaim: chunks spilled to small files, then most of them dead
// in the middle of the queue (not whole files): reclaim copies the live
// ones forward until at most about half of the spill is dead, files
// nothing refers to are removed, and every entry reads back.
func TestSpillReclaim(t *testing.T) {
	fsys := vfs.NewMemFS()
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	x := newIndex(store.MinProducers)
	x.spill = newSpill(fsys, dir, 4<<10)
	m := model{}
	g := newBacklog()
	const dest = "queue://a"
	var ents []entry
	for range 200 * chunkCap {
		e := g.next()
		ents = append(ents, e)
		x.add(dest, e)
		m.add(dest, e)
	}
	if len(x.spill.files) < 20 {
		t.Fatalf("%d spill files for 200 chunks", len(x.spill.files))
	}
	before := x.spill.size
	// Remove three chunks in four, whole, and in the chunks left every
	// entry but the first (a chunk's encoding is dead only once the chunk
	// is dropped or rewritten): files keep a live chunk or two each.
	for i, e := range ents {
		if (i/chunkCap)%4 != 0 || i%chunkCap != 0 {
			x.remove(dest, e.seq)
			delete(m[dest], e.seq)
		}
	}
	// Rewrite a few chunks (moves): new versions, more dead space.
	for i := 0; i < len(ents); i += 8 * chunkCap {
		e := ents[i]
		e.seg++
		x.move(dest, e)
		m.add(dest, e)
	}
	if x.spill.live*2 > x.spill.size {
		t.Fatalf("only %d of %d spilled bytes dead: the test kills too few", x.spill.size-x.spill.live, x.spill.size)
	}
	for range 1000 {
		x.reclaim()
	}
	if x.err != nil {
		t.Fatal(x.err)
	}
	m.check(t, x)
	checkSpill(t, x, fsys)
	t.Logf("spill %d bytes before, %d after (%d live) in %d files", before, x.spill.size, x.spill.live, len(x.spill.files))
	// Drain: every file goes but the one being filled.
	for _, e := range m.sorted(dest) {
		x.remove(dest, e.seq)
	}
	if len(x.spill.files) > 1 || x.spill.live != 0 {
		t.Fatalf("%d files, %d live bytes after the queue drained", len(x.spill.files), x.spill.live)
	}
}

// TestSpillReadFailure: a chunk that cannot be read back from the spill
// fails Scan and then the store (the index no longer matches the journal),
// and no checkpoint is written from it; reopening recovers every
// acknowledged batch.
func TestSpillReadFailure(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := smallOpts()
	opts.spillKeep = 1 // every chunk spilled, the head's too
	s := open(t, fsys, opts)
	const n = 3 * chunkCap
	addEach(t, s, 1, n)
	if len(s.spill.files) == 0 {
		t.Fatal("nothing spilled")
	}
	fsys.SetHook(func(op vfs.Op, name string) error {
		if op == vfs.OpRead && isSpill(name[strings.LastIndex(name, "/")+1:]) {
			return vfs.ErrInjected
		}
		return nil
	})
	if _, err := s.Scan(context.Background(), "queue://a", 0, 10, 0); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Scan with the spill unreadable: %v", err)
	}
	var rm store.Batch
	rm.Remove("queue://a", 1)
	if err := s.Apply(context.Background(), &rm); err != nil {
		t.Fatalf("the removal is durable, so Apply succeeds: %v", err)
	}
	var add store.Batch
	add.Add("queue://a", n+1, payload(n+1, 10))
	if err := s.Apply(context.Background(), &add); !errors.Is(err, ErrFailed) {
		t.Fatalf("Apply after the index broke: %v", err)
	}
	ckpt, _ := fsys.ReadFile(dir + "/" + ckptName)
	_ = s.Close()
	if after, _ := fsys.ReadFile(dir + "/" + ckptName); string(after) != string(ckpt) {
		t.Fatal("a checkpoint was written from the broken index")
	}
	fsys.SetHook(nil)
	s = open(t, fsys, opts)
	defer s.Close()
	seqs := scanSeqs(t, s, "queue://a")
	if len(seqs) != n-1 || seqs[0] != 2 {
		t.Fatalf("after reopening: %d messages from %d, want %d from 2", len(seqs), seqs[0], n-1)
	}
}

// TestSpillWriteFailure: when the spill cannot be written, chunks stay in
// memory and the store works on.
func TestSpillWriteFailure(t *testing.T) {
	fsys := vfs.NewMemFS()
	fsys.SetHook(func(op vfs.Op, name string) error {
		if (op == vfs.OpCreate || op == vfs.OpWrite) && strings.Contains(name, spillPrefix) {
			return vfs.ErrInjected
		}
		return nil
	})
	opts := smallOpts()
	opts.spillKeep = 1 // every chunk to be spilled
	s := open(t, fsys, opts)
	const n = 3 * chunkCap
	addEach(t, s, 1, n)
	if s.spill.broken == nil || len(s.spill.files) != 0 {
		t.Fatalf("spill broken %v, %d files", s.spill.broken, len(s.spill.files))
	}
	if seqs := scanSeqs(t, s, "queue://a"); len(seqs) != n {
		t.Fatalf("%d messages, want %d", len(seqs), n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSpillFilesGoAtOpenAndClose: Open removes spill files an earlier run
// left (a crash), and Close removes its own.
func TestSpillFilesGoAtOpenAndClose(t *testing.T) {
	fsys := vfs.NewMemFS()
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fsys, dir+"/index-0123456789abcdef-1.spill", []byte("stale"))
	s := open(t, fsys, smallOpts())
	addEach(t, s, 1, 20*chunkCap) // past the 4 KiB kept in memory
	spills := func() []string { return dirNames(t, fsys, isSpill) }
	if names := spills(); len(names) == 0 || slices.Contains(names, "index-0123456789abcdef-1.spill") {
		t.Fatalf("spill files while open: %v", names)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names := spills(); len(names) != 0 {
		t.Fatalf("spill files after Close: %v", names)
	}
}

// TestSpillOnlyPastBudget: sealed chunks stay in memory up to the budget
// (spillKeep), so a queue without a backlog never touches the spill; past
// it the newer chunks go to the spill and the memory kept stays within it.
func TestSpillOnlyPastBudget(t *testing.T) {
	fsys := vfs.NewMemFS()
	opts := smallOpts()
	opts.spillKeep = 1 << 20
	s := open(t, fsys, opts)
	addEach(t, s, 1, 10*chunkCap)
	if names := dirNames(t, fsys, isSpill); len(names) != 0 || s.mu.idx.kept == 0 {
		t.Fatalf("under the budget: spill files %v, %d bytes kept in memory", names, s.mu.idx.kept)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	opts.spillKeep = 2 << 10
	s = open(t, fsys, opts)
	addEach(t, s, 10*chunkCap+1, 30*chunkCap)
	if names := dirNames(t, fsys, isSpill); len(names) == 0 {
		t.Fatal("past the budget, nothing was spilled")
	}
	if k := s.mu.idx.kept; k == 0 || k > opts.spillKeep {
		t.Fatalf("%d bytes kept in memory, budget %d", k, opts.spillKeep)
	}
	if seqs := scanSeqs(t, s, "queue://a"); len(seqs) != 30*chunkCap {
		t.Fatalf("%d messages, want %d", len(seqs), 30*chunkCap)
	}
	// Removing from the head frees memory that later chunks may use.
	for seq := uint64(1); seq <= 10*chunkCap; seq++ {
		var b store.Batch
		b.Remove("queue://a", seq)
		mustApply(t, s, &b)
	}
	if k := s.mu.idx.kept; k < 0 || k > opts.spillKeep {
		t.Fatalf("after removals %d bytes kept in memory, budget %d", k, opts.spillKeep)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// addEach adds messages from..to (seqs) to queue://a, one batch each.
func addEach(t *testing.T, s *Store, from, to uint64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		var b store.Batch
		b.Add("queue://a", seq, payload(seq, 10))
		mustApply(t, s, &b)
	}
}
