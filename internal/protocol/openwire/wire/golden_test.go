package wire

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeGolden(t *testing.T, name string) Command {
	t.Helper()
	cmd, err := Unmarshal(readGolden(t, name), Options{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cmd
}

// goldenTypeName maps the command name in a golden file name to its type.
var goldenTypeName = map[string]byte{
	"WireFormatInfo": TypeWireFormatInfo, "ConnectionInfo": TypeConnectionInfo,
	"SessionInfo": TypeSessionInfo, "ConsumerInfo": TypeConsumerInfo, "ProducerInfo": TypeProducerInfo,
	"TransactionInfo": TypeTransactionInfo, "DestinationInfo": TypeDestinationInfo,
	"RemoveSubscriptionInfo": TypeRemoveSubscriptionInfo, "RemoveInfo": TypeRemoveInfo,
	"ShutdownInfo": TypeShutdownInfo, "MessageAck": TypeMessageAck, "Message": TypeMessage,
	"BytesMessage": TypeBytesMessage, "MapMessage": TypeMapMessage, "ObjectMessage": TypeObjectMessage,
	"StreamMessage": TypeStreamMessage, "TextMessage": TypeTextMessage,
}

// TestGoldenRoundTrip decodes every frame captured from the 5.17 Java client
// and re-encodes it. The encoding is byte-identical except for
// WireFormatInfo, whose property map Java writes in HashMap order; those are
// compared after decoding again.
func TestGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.bin")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			in := readGolden(t, name)
			cmd := decodeGolden(t, name)
			want := goldenTypeName[strings.TrimSuffix(name[strings.LastIndex(name, "-")+1:], ".bin")]
			if cmd.DataType() != want {
				t.Fatalf("type %d, file name says %d", cmd.DataType(), want)
			}
			out, err := Marshal(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if cmd.DataType() == TypeWireFormatInfo {
				again, err := Unmarshal(out, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(again, cmd) || len(out) != len(in) {
					t.Fatalf("WireFormatInfo differs after re-encoding:\n%+v\n%+v", again, cmd)
				}
				return
			}
			if !bytes.Equal(out, in) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", out, in)
			}
		})
	}
}

func TestGoldenWireFormatInfo(t *testing.T) {
	w := decodeGolden(t, "c1-001-WireFormatInfo.bin").(*WireFormatInfo)
	if !w.Valid() || w.Version != 12 {
		t.Fatalf("magic %q version %d", w.Magic, w.Version)
	}
	want := map[string]any{
		PropCacheEnabled: true, PropCacheSize: int32(1024), PropHost: "127.0.0.1",
		PropMaxFrameSize: int64(math.MaxInt64), PropMaxFrameSizeEnabled: true,
		PropMaxInactivityDuration: int64(30000), PropMaxInactivityDurationInitalDelay: int64(10000),
		PropPlatformDetails: "Java", PropProviderName: "ActiveMQ", PropProviderVersion: "5.17.2",
		PropSizePrefixDisabled: false, PropStackTraceEnabled: true, PropTCPNoDelayEnabled: true,
		PropTightEncodingEnabled: true,
	}
	if !reflect.DeepEqual(w.Properties, want) {
		t.Fatalf("properties\n got %#v\nwant %#v", w.Properties, want)
	}
	n, err := Negotiate(NewBrokerWireFormat(BrokerWireFormatConfig{MaxInactivityDuration: 30e9,
		MaxInactivityInitialDelay: 10e9, MaxFrameSize: 100 << 20}), w)
	if err != nil {
		t.Fatal(err)
	}
	if n.Version != 12 || n.TightEncoding || n.Cache || n.StackTrace || !n.TCPNoDelay ||
		n.SizePrefixDisabled || n.MaxFrameSize != 100<<20 || n.MaxInactivityDuration != 30e9 || n.InitialDelay != 10e9 {
		t.Fatalf("negotiated %+v", n)
	}
}

func TestGoldenConnect(t *testing.T) {
	ci := decodeGolden(t, "c1-002-ConnectionInfo.bin").(*ConnectionInfo)
	if ci.ID != 1 || !ci.NeedsResponse || ci.ClientID != "golden-client" || ci.UserName != "alice" ||
		ci.Password != "s3cret" || !ci.Manageable || !ci.ClientMaster || ci.FaultTolerant ||
		ci.ConnectionID == nil || !strings.HasPrefix(ci.ConnectionID.Value, "ID:") {
		t.Fatalf("ConnectionInfo %+v", ci)
	}
	conn := ci.ConnectionID.Value
	adv := decodeGolden(t, "c1-003-ConsumerInfo.bin").(*ConsumerInfo)
	if *adv.ConsumerID != (ConsumerID{conn, -1, 1}) || adv.Destination.Type != TypeTopic ||
		adv.Destination.PhysicalName != "ActiveMQ.Advisory.TempQueue,ActiveMQ.Advisory.TempTopic" ||
		adv.PrefetchSize != 1000 || !adv.NoLocal || !adv.DispatchAsync || !adv.NeedsResponse {
		t.Fatalf("advisory ConsumerInfo %+v", adv)
	}
	for i, name := range []string{"004", "005", "006", "007", "008"} {
		si := decodeGolden(t, "c1-"+name+"-SessionInfo.bin").(*SessionInfo)
		if *si.SessionID != (SessionID{conn, int64(i + 1)}) || si.NeedsResponse {
			t.Fatalf("SessionInfo %s: %+v", name, si.SessionID)
		}
	}
	pi := decodeGolden(t, "c1-009-ProducerInfo.bin").(*ProducerInfo)
	if *pi.ProducerID != (ProducerID{ConnectionID: conn, Value: 1, SessionID: 1}) ||
		*pi.Destination != (Destination{TypeQueue, "golden.queue"}) || !pi.NeedsResponse {
		t.Fatalf("ProducerInfo %+v", pi)
	}
	sel := decodeGolden(t, "c1-017-ConsumerInfo.bin").(*ConsumerInfo)
	if sel.Selector != "color = 'red'" || sel.PrefetchSize != 1000 || sel.ClientID != "golden-client" {
		t.Fatalf("selector ConsumerInfo %+v", sel)
	}
	dur := decodeGolden(t, "c1-019-ConsumerInfo.bin").(*ConsumerInfo)
	if dur.SubscriptionName != "golden-sub" || dur.PrefetchSize != 100 || dur.Destination.Type != TypeTopic {
		t.Fatalf("durable ConsumerInfo %+v", dur)
	}
}

const goldenText = "h\u00e9llo \U0001F600 \x00 world"

var goldenProps = map[string]any{
	"pBool": true, "pByte": int8(-7), "pShort": int16(-1234), "pInt": int32(123456789),
	"pLong": int64(1234567890123), "pFloat": float32(1.5), "pDouble": -2.25,
	"pString": "h\u00e9llo \U0001F600 \x00 end", "color": "red",
}

func TestGoldenMessages(t *testing.T) {
	for _, tc := range []struct {
		file string
		typ  byte
		seq  int64
		body func(t *testing.T, m *Message)
	}{
		{"c1-010-TextMessage.bin", TypeTextMessage, 1, func(t *testing.T, m *Message) {
			text, ok, err := m.Text(1 << 20)
			if err != nil || !ok || text != goldenText {
				t.Fatalf("text %q %v %v", text, ok, err)
			}
		}},
		{"c1-011-BytesMessage.bin", TypeBytesMessage, 2, func(t *testing.T, m *Message) {
			if !bytes.Equal(m.Content, []byte{0, 1, 2, 0xff, 0x7f}) {
				t.Fatalf("bytes %x", m.Content)
			}
		}},
		{"c1-012-MapMessage.bin", TypeMapMessage, 3, func(t *testing.T, m *Message) {
			got, err := DecodeMap(m.Content)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"bool": true, "byte": int8(-128), "char": uint16(0xe9), "short": int16(32767), "int": int32(-1),
				"long": int64(math.MinInt64), "float": float32(3.25), "double": math.Pi,
				"string": "s\x00\U0001F600", "bytes": []byte{9, 8, 7}, "bigstring": strings.Repeat("x", 9000),
				"nullvalue": nil, "map": map[string]any{"inner": int32(42)}, "list": []any{"a", int64(7)},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("map body\n got %#v\nwant %#v", got, want)
			}
			// Java chose code 13 for the 9000-char string: re-encoding must too.
			if !bytes.Contains(m.Content, append([]byte("bigstring\x0d"), 0, 0, 0x23, 0x28)) {
				t.Fatal("big string not encoded with code 13")
			}
		}},
		{"c1-013-ObjectMessage.bin", TypeObjectMessage, 4, func(t *testing.T, m *Message) {
			if !bytes.HasPrefix(m.Content, []byte{0xac, 0xed}) {
				t.Fatalf("object body is not Java serialization: %x", m.Content[:4])
			}
		}},
		{"c1-014-StreamMessage.bin", TypeStreamMessage, 5, func(t *testing.T, m *Message) {
			got, err := DecodeStream(m.Content)
			want := []any{false, int8(1), int16(-2), uint16('Z'), int32(3), int64(4), float32(5.5), 6.75,
				"seven", []byte{8, 9}, nil}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("stream %#v %v", got, err)
			}
			again, err := EncodeStream(want)
			if err != nil || !bytes.Equal(again, m.Content) {
				t.Fatalf("stream re-encoding %x, want %x (%v)", again, m.Content, err)
			}
		}},
		{"c1-015-Message.bin", TypeMessage, 6, func(t *testing.T, m *Message) {
			if m.Content != nil {
				t.Fatalf("plain message has content %x", m.Content)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m := decodeGolden(t, tc.file).(*Message)
			if m.Type != tc.typ || m.MessageID.ProducerSequenceID != tc.seq || !m.Persistent || !m.NeedsResponse ||
				m.Priority != 4 || m.CorrelationID != "corr-1" || m.JMSType != "golden" || m.Timestamp == 0 ||
				*m.Destination != (Destination{TypeQueue, "golden.queue"}) || m.Compressed {
				t.Fatalf("message %+v", m)
			}
			props, err := m.Properties()
			if err != nil || !reflect.DeepEqual(props, goldenProps) {
				t.Fatalf("properties %#v %v", props, err)
			}
			tc.body(t, m)
		})
	}
}

func TestGoldenAckTxClose(t *testing.T) {
	ack := decodeGolden(t, "c1-018-MessageAck.bin").(*MessageAck)
	if ack.AckType != AckStandard || ack.MessageCount != 1 || ack.NeedsResponse ||
		ack.FirstMessageID.ProducerSequenceID != 7 || ack.LastMessageID.ProducerSequenceID != 7 ||
		ack.ConsumerID.SessionID != 1 || ack.TransactionID != nil {
		t.Fatalf("ack %+v", ack)
	}
	temp := decodeGolden(t, "c1-020-DestinationInfo.bin").(*DestinationInfo)
	if temp.OperationType != DestinationAdd || temp.Destination.Type != TypeTempQueue ||
		!strings.HasPrefix(temp.Destination.PhysicalName, temp.ConnectionID.Value+":") {
		t.Fatalf("temp queue %+v", temp)
	}
	begin := decodeGolden(t, "c1-024-TransactionInfo.bin").(*TransactionInfo)
	commit := decodeGolden(t, "c1-026-TransactionInfo.bin").(*TransactionInfo)
	txSend := decodeGolden(t, "c1-025-TextMessage.bin").(*Message)
	tx, ok := begin.TransactionID.(*LocalTransactionID)
	if !ok || tx.Value != 1 || begin.Type != TxBegin || begin.NeedsResponse ||
		commit.Type != TxCommitOnePhase || !commit.NeedsResponse ||
		!reflect.DeepEqual(commit.TransactionID, begin.TransactionID) ||
		!reflect.DeepEqual(txSend.TransactionID, begin.TransactionID) || txSend.NeedsResponse {
		t.Fatalf("tx begin %+v commit %+v send %+v", begin, commit, txSend.TransactionID)
	}
	unsub := decodeGolden(t, "c1-029-RemoveSubscriptionInfo.bin").(*RemoveSubscriptionInfo)
	if unsub.SubscriptionName != "golden-sub" || unsub.ClientID != "golden-client" {
		t.Fatalf("unsubscribe %+v", unsub)
	}
	closeConn := decodeGolden(t, "c1-033-RemoveInfo.bin").(*RemoveInfo)
	if _, ok := closeConn.ObjectID.(*ConnectionID); !ok || !closeConn.NeedsResponse {
		t.Fatalf("connection RemoveInfo %+v", closeConn)
	}
	if _, ok := decodeGolden(t, "c1-031-RemoveInfo.bin").(*RemoveInfo).ObjectID.(*ProducerID); !ok {
		t.Fatal("producer RemoveInfo")
	}
}

func TestGoldenCompressed(t *testing.T) {
	text := decodeGolden(t, "c2-006-TextMessage.bin").(*Message)
	s, ok, err := text.Text(1 << 20)
	if err != nil || !ok || s != "compressed "+strings.Repeat("z", 2000) || !text.Compressed {
		t.Fatalf("compressed text %q %v %v", s, ok, err)
	}
	bm := decodeGolden(t, "c2-007-BytesMessage.bin").(*Message)
	body, err := bm.Body(1 << 20)
	if err != nil || !bytes.Equal(body, make([]byte, 3000)) {
		t.Fatalf("compressed bytes %d %v", len(body), err)
	}
	if _, err := bm.Body(100); err == nil {
		t.Fatal("inflate cap not enforced")
	}
}
