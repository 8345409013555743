package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/piermq/pier/internal/message"
	"github.com/piermq/pier/internal/store"
)

func testLimit(t *testing.T, e *env) {
	const limit = 64 << 10
	s := e.start(t, Options{Limit: limit})
	if u := s.Usage(); u.Limit != limit {
		t.Fatalf("usage limit %d, want %d", u.Limit, limit)
	}
	body := make([]byte, 1024)
	var seq uint64
	for {
		seq++
		if seq > 10*limit/1024 {
			t.Fatalf("no ErrFull after %d KiB with a %d KiB limit", seq, limit>>10)
		}
		var b store.Batch
		b.Add("queue://full", seq, msg(fmt.Sprint(seq), body))
		b.PutSub(sub("c", fmt.Sprint(seq)))
		err := s.Apply(context.Background(), &b)
		if errors.Is(err, store.ErrFull) {
			break
		}
		if err != nil {
			t.Fatalf("Apply below limit: %v", err)
		}
	}
	full := seq
	if recs := scan(t, s, "queue://full", full-1, 1, 1<<20); len(recs) != 0 {
		t.Fatalf("rejected batch partly applied: found seq %d", recs[0].Seq)
	}
	var rm store.Batch
	for i := uint64(1); i < full; i++ {
		rm.Remove("queue://full", i)
	}
	if err := s.Apply(context.Background(), &rm); err != nil {
		t.Fatalf("remove-only batch at the limit: %v", err)
	}
	s, st := e.reopen(t, s)
	for _, sb := range st.Subscriptions {
		if sb.Name == fmt.Sprint(full) {
			t.Fatalf("subscription of the rejected batch was recovered")
		}
	}
	wantSeqs(t, "after removing all", scanAll(t, s, "queue://full"))
	add(t, s, "queue://full", full+1, msg("again", body))
}

func testClosed(t *testing.T, e *env) {
	s := e.start(t, Options{})
	add(t, s, "queue://a", 1, textMsg("1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	var b store.Batch
	b.Add("queue://a", 2, textMsg("2"))
	if err := s.Apply(ctx, &b); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Apply after Close: %v", err)
	}
	if _, err := s.Scan(ctx, "queue://a", 0, 10, 1<<20); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Scan after Close: %v", err)
	}
	if _, err := s.Recover(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Recover after Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	_ = s.Usage() // must not panic
}

func fullMessage() *message.Message {
	body := make([]byte, 256*3)
	for i := range body {
		body[i] = byte(i)
	}
	return &message.Message{
		ID: "ID:host-1:2:3:4", Dest: message.Destination{Kind: message.Topic, Name: "prices.eu.>"},
		ReplyTo: message.Destination{Kind: message.TempQueue, Name: "tmp.1"}, CorrelationID: "corr\x00id",
		Type: "quote", Priority: 9, Expiration: math.MaxInt64, Timestamp: -1, Persistent: true,
		DeliveryCount: math.MaxInt32, GroupID: "grp", GroupSeq: math.MinInt32, ProducerID: "prod",
		ProducerSeq: math.MinInt64, UserID: "üser",
		OriginalDest: message.Destination{Kind: message.Queue, Name: "orig"},
		Properties: map[string]any{
			"null": nil, "bool": true, "false": false, "i8": int8(-128), "i16": int16(math.MinInt16),
			"i32": int32(math.MaxInt32), "i64": int64(math.MinInt64), "f32": float32(-0.5),
			"f64": math.Inf(-1), "str": "ünïcode\x00", "empty": "", "bytes": []byte{0, 0xff, 0x80},
			"char": uint16(0xffff),
		},
		BodyKind: message.Bytes, Body: body,
	}
}

func testFidelity(t *testing.T, e *env) {
	s := e.start(t, Options{})
	cases := []*message.Message{
		fullMessage(),
		{},
		{ID: "text", BodyKind: message.Text, Body: []byte("héllo\n")},
		{ID: "big", BodyKind: message.Object, Body: make([]byte, 300<<10)},
	}
	for i, m := range cases {
		add(t, s, "queue://fid", uint64(i+1), m)
	}
	check := func(s store.Store, when string) {
		recs := scanAll(t, s, "queue://fid")
		if len(recs) != len(cases) {
			t.Fatalf("%s: %d records, want %d", when, len(recs), len(cases))
		}
		for i, r := range recs {
			sameMessage(t, fmt.Sprintf("%s message %d", when, i), r.Msg, cases[i])
		}
	}
	check(s, "before reopen")
	s, _ = e.reopen(t, s)
	check(s, "after reopen")
}

func testScanCopies(t *testing.T, e *env) {
	s := e.start(t, Options{})
	orig := fullMessage()
	add(t, s, "queue://c", 1, orig)
	first := scanAll(t, s, "queue://c")
	first[0].Msg.Body[0] ^= 0xff
	first[0].Msg.Properties["bytes"].([]byte)[0] ^= 0xff
	first[0].Msg.Properties["new"] = "x"
	first[0].Msg.ID = "changed"
	second := scanAll(t, s, "queue://c")
	sameMessage(t, "second scan", second[0].Msg, fullMessage())
	sameMessage(t, "the applied message", orig, fullMessage())
}
