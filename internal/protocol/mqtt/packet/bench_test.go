package packet

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

func benchPublish() *Publish {
	return &Publish{QoS: 1, Topic: "sensors/building-7/floor-3/temperature", PacketID: 4242,
		Payload: bytes.Repeat([]byte("x"), 1024)}
}

func BenchmarkDecodePublish1KiB(b *testing.B) {
	for _, v := range []byte{Version311, Version5} {
		b.Run(map[byte]string{Version311: "v311", Version5: "v5"}[v], func(b *testing.B) {
			data := encode(b, benchPublish(), v)
			src := bytes.NewReader(data)
			r := bufio.NewReader(src)
			rd := NewReader(r, v, Limits{})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				src.Reset(data)
				r.Reset(src)
				if _, err := rd.ReadPacket(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodePublish1KiB(b *testing.B) {
	for _, v := range []byte{Version311, Version5} {
		b.Run(map[byte]string{Version311: "v311", Version5: "v5"}[v], func(b *testing.B) {
			p := benchPublish()
			w := NewWriter(io.Discard)
			b.SetBytes(int64(len(encode(b, p, v))))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WritePacket(p, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
