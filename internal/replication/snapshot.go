package replication

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
	"github.com/piermq/pier/internal/store/journal"
)

// A snapshot is a stream of
//
//	magic     "pier-snapshot-v1"
//	index     uvarint: the last log entry it includes
//	last seq  uvarint: store.State.LastSeq
//	producers uvarint count, then count times: id (uvarint length, bytes), seq uvarint
//	chunks    uvarint length, then a log entry (see codec.go) of that length;
//	          the first holds the durable subscriptions, the others messages
//	end       uvarint 0, then "end"
//
// Raft's file snapshot store adds a checksum of the whole file.
const snapMagic = "pier-snapshot-v1"

// restoreDest is where a restore parks the messages that carry producer
// marks and the last sequence number; they are removed at once.
const restoreDest = "\x00restore"

// snapshot is what Persist writes: the state captured by fsm.Snapshot and the
// messages read from the journal as Persist goes.
type snapshot struct {
	js    *journal.Store
	state *store.State
	index uint64
}

// Persist implements raft.FSMSnapshot.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(context.Background(), sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *snapshot) Release() {}

const (
	snapChunkMessages = 1024
	snapChunkBytes    = 4 << 20
)

func (s *snapshot) write(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	hdr := []byte(snapMagic)
	hdr = binary.AppendUvarint(hdr, s.index)
	hdr = binary.AppendUvarint(hdr, s.state.LastSeq)
	hdr = binary.AppendUvarint(hdr, uint64(len(s.state.ProducerSeqs)))
	for id, seq := range s.state.ProducerSeqs {
		hdr = appendBytes(hdr, id)
		hdr = binary.AppendUvarint(hdr, uint64(seq))
	}
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	chunk := func(b *store.Batch) error {
		e, _, err := encodeBatch(b)
		if err != nil {
			return err
		}
		if _, err := bw.Write(binary.AppendUvarint(nil, uint64(len(e)))); err != nil {
			return err
		}
		_, err = bw.Write(e)
		return err
	}
	var subs store.Batch
	for _, sub := range s.state.Subscriptions {
		subs.PutSub(sub)
	}
	if err := chunk(&subs); err != nil {
		return err
	}
	for _, d := range s.state.Dests {
		after := uint64(0)
		for {
			recs, err := s.js.Scan(ctx, d.Dest, after, snapChunkMessages, snapChunkBytes)
			if err != nil {
				return fmt.Errorf("replication: snapshot of %s: %w", d.Dest, err)
			}
			if len(recs) == 0 {
				break
			}
			var b store.Batch
			for _, r := range recs {
				b.Add(d.Dest, r.Seq, r.Msg)
			}
			if err := chunk(&b); err != nil {
				return err
			}
			after = recs[len(recs)-1].Seq
		}
	}
	if _, err := bw.Write([]byte{0, 'e', 'n', 'd'}); err != nil {
		return err
	}
	return bw.Flush()
}

var errBadSnapshot = errors.New("replication: bad snapshot")

// readSnapshot applies the snapshot read from r to the empty journal js
// and returns its index. The last batch, synced, carries the mark.
func readSnapshot(ctx context.Context, r io.Reader, js *journal.Store) (uint64, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapMagic {
		return 0, fmt.Errorf("%w: no header", errBadSnapshot)
	}
	index, err1 := binary.ReadUvarint(br)
	lastSeq, err2 := binary.ReadUvarint(br)
	nprod, err3 := binary.ReadUvarint(br)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, fmt.Errorf("%w: header: %v", errBadSnapshot, err)
	}
	// Producer marks and the last sequence number ride on messages that
	// are added and removed again: a store keeps both after the removal.
	var b store.Batch
	flush := func() error {
		if len(b.Ops) == 0 {
			return nil
		}
		err := js.Apply(ctx, &store.Batch{Ops: b.Ops, NoSync: true})
		b.Ops = b.Ops[:0]
		return err
	}
	for i := uint64(0); i < nprod; i++ {
		id, err := readBytes(br)
		if err != nil {
			return 0, err
		}
		seq, err := binary.ReadUvarint(br)
		if err != nil || seq == 0 || seq > 1<<63-1 {
			return 0, fmt.Errorf("%w: producer mark", errBadSnapshot)
		}
		b.Add(restoreDest, lastSeq, &message.Message{ProducerID: string(id), ProducerSeq: int64(seq)})
		if len(b.Ops) >= snapChunkMessages {
			b.Remove(restoreDest, lastSeq)
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if lastSeq > 0 {
		b.Add(restoreDest, lastSeq, &message.Message{})
		b.Remove(restoreDest, lastSeq)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	for {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return 0, fmt.Errorf("%w: chunk length: %v", errBadSnapshot, err)
		}
		if n == 0 {
			break
		}
		if n > 1<<30 {
			return 0, fmt.Errorf("%w: chunk of %d bytes", errBadSnapshot, n)
		}
		e := make([]byte, n)
		if _, err := io.ReadFull(br, e); err != nil {
			return 0, fmt.Errorf("%w: chunk: %v", errBadSnapshot, err)
		}
		ops, err := decodeBatch(nil, e)
		if err != nil {
			return 0, err
		}
		if err := js.Apply(ctx, &store.Batch{Ops: ops, NoSync: true}); err != nil {
			return 0, err
		}
	}
	end := make([]byte, 3)
	if _, err := io.ReadFull(br, end); err != nil || string(end) != "end" {
		return 0, fmt.Errorf("%w: no end marker", errBadSnapshot)
	}
	if err := js.Apply(ctx, &store.Batch{Mark: index}); err != nil {
		return 0, err
	}
	return index, nil
}

func readBytes(br *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil || n > 1<<20 {
		return nil, fmt.Errorf("%w: string", errBadSnapshot)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, fmt.Errorf("%w: string: %v", errBadSnapshot, err)
	}
	return b, nil
}
