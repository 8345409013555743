package replication

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

// BenchmarkApply measures a persistent send on the master of an in-process
// group of three on this machine's disk: one 1 KiB add per batch, committed
// by a quorum (written and fsynced) and applied. writers is how many
// batches are applied at once (concurrent producers).
//
// leader=serial is hashicorp/raft's own order (the leader syncs its log,
// then replicates), leader=parallel Pier's (it syncs while the followers
// do; clamp.go).
func BenchmarkApply(b *testing.B) {
	for _, serial := range []bool{true, false} {
		for _, writers := range []int{1, 4, 16} {
			name := fmt.Sprintf("leader=parallel/writers=%d", writers)
			if serial {
				name = fmt.Sprintf("leader=serial/writers=%d", writers)
			}
			b.Run(name, func(b *testing.B) { benchApply(b, writers, serial) })
		}
	}
}

func benchApply(b *testing.B, writers int, serial bool) {
	g := newGroup(b, 3, func(c *Config) { c.SerialLeaderSync = serial })
	_, m := g.master()
	st := m.Store()
	body := make([]byte, 1024)
	var seq atomic.Uint64
	b.SetBytes(1024)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				s := seq.Add(1)
				if s > uint64(b.N) {
					return
				}
				m := &message.Message{ID: fmt.Sprintf("id-%d", s), Dest: message.Destination{Kind: message.Queue, Name: "q"},
					Persistent: true, Body: body, ProducerID: "p", ProducerSeq: int64(s)}
				var bt store.Batch
				bt.Add("queue://q", s, m)
				if err := st.Apply(context.Background(), &bt); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkCodec encodes (the master) and decodes (every replica) the
// entry of a busy queue at 16/16: sixteen 1 KiB adds and sixteen removes.
func BenchmarkCodec(b *testing.B) {
	var batch store.Batch
	for i := range 16 {
		batch.Add("queue://bench", uint64(i+17), &message.Message{ID: fmt.Sprintf("ID:bench-1:1:1:%d", i+1),
			ProducerID: "ID:bench-1:1:1", ProducerSeq: int64(i + 1), Persistent: true, Body: make([]byte, 1024)})
		batch.Remove("queue://bench", uint64(i+1))
	}
	entry, _, err := encodeBatch(&batch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := encodeBatch(&batch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeBatch(nil, entry); err != nil {
				b.Fatal(err)
			}
		}
	})
}
