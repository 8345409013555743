package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func sampleIDs() (*ConnectionID, *SessionID, *ConsumerID, *ProducerID, *MessageID) {
	conn := &ConnectionID{Value: "ID:host-1-2-3:1"}
	pid := &ProducerID{ConnectionID: conn.Value, Value: 2, SessionID: 1}
	return conn, &SessionID{ConnectionID: conn.Value, Value: 1},
		&ConsumerID{ConnectionID: conn.Value, SessionID: 1, Value: 3}, pid,
		&MessageID{TextView: "ID:x:1:1:1", ProducerID: pid, ProducerSequenceID: 9, BrokerSequenceID: 77}
}

func roundTripCases() map[string]Command {
	conn, sid, cid, pid, mid := sampleIDs()
	q := &Destination{Type: TypeQueue, PhysicalName: "q.a,q.b"}
	tq := &Destination{Type: TypeTempTopic, PhysicalName: conn.Value + ":1"}
	ltx := &LocalTransactionID{Value: 5, ConnectionID: conn}
	xtx := &XATransactionID{FormatID: 7, GlobalTransactionID: []byte{1, 2}, BranchQualifier: []byte{}}
	bid := &BrokerID{Value: "broker-1"}
	h := CommandHeader{ID: 42, NeedsResponse: true}
	exc := &Throwable{Class: "javax.jms.JMSException", Message: "boom \U0001F4A5"}
	msg := &Message{CommandHeader: h, Type: TypeTextMessage, ProducerID: pid, Destination: q, TransactionID: ltx,
		OriginalDestination: tq, MessageID: mid, OriginalTransactionID: xtx, GroupID: "g", GroupSequence: 3,
		CorrelationID: "c", Persistent: true, Expiration: 99, Priority: 9, ReplyTo: tq, Timestamp: 12,
		JMSType: "t", Content: EncodeText("hi"), MarshalledProperties: []byte{0, 0, 0, 0},
		DataStructure: &DestinationInfo{ConnectionID: conn, Destination: tq}, TargetConsumerID: cid,
		RedeliveryCounter: 2, BrokerPath: []*BrokerID{bid}, Arrival: 5, UserID: "u", ReceivedByDFBridge: true,
		Droppable: true, Cluster: []*BrokerID{}, BrokerInTime: 6, BrokerOutTime: 7, JMSXGroupFirstForConsumer: true}
	blob := *msg
	blob.Type, blob.RemoteBlobURL, blob.MimeType, blob.DeletedByBroker = TypeBlobMessage, "http://x", "a/b", true
	wf := NewBrokerWireFormat(BrokerWireFormatConfig{MaxInactivityDuration: 30e9, MaxFrameSize: 1 << 20,
		ProviderName: "Pier"})
	return map[string]Command{
		"WireFormatInfo": wf,
		"BrokerInfo": &BrokerInfo{CommandHeader: h, BrokerID: bid, BrokerURL: "tcp://h:61616",
			PeerBrokerInfos: []*BrokerInfo{{BrokerID: &BrokerID{Value: "peer"}}}, BrokerName: "pier",
			SlaveBroker: true, MasterBroker: true, FaultTolerantConfiguration: true, DuplexConnection: true,
			NetworkConnection: true, ConnectionID: 8, BrokerUploadURL: "u", NetworkProperties: "n"},
		"ConnectionInfo": &ConnectionInfo{CommandHeader: h, ConnectionID: conn, ClientID: "c", Password: "p",
			UserName: "u", BrokerPath: []*BrokerID{bid}, BrokerMasterConnector: true, Manageable: true,
			ClientMaster: true, FaultTolerant: true, FailoverReconnect: true, ClientIP: "1.2.3.4"},
		"SessionInfo": &SessionInfo{CommandHeader: h, SessionID: sid},
		"ConsumerInfo": &ConsumerInfo{CommandHeader: h, ConsumerID: cid, Browser: true, Destination: q,
			PrefetchSize: 1000, MaximumPendingMessageLimit: 5, DispatchAsync: true, Selector: "a > 1",
			ClientID: "c", SubscriptionName: "s", NoLocal: true, Exclusive: true, Retroactive: true, Priority: 3,
			BrokerPath: []*BrokerID{bid}, AdditionalPredicate: &NetworkBridgeFilter{NetworkBrokerID: bid,
				MessageTTL: 1, ConsumerTTL: 2}, NetworkSubscription: true, OptimizedAcknowledge: true,
			NoRangeAcks: true, NetworkConsumerPath: []*ConsumerID{cid}},
		"ProducerInfo": &ProducerInfo{CommandHeader: h, ProducerID: pid, Destination: q,
			BrokerPath: []*BrokerID{}, DispatchAsync: true, WindowSize: 1024},
		"TransactionInfo.local": &TransactionInfo{CommandHeader: h, ConnectionID: conn, TransactionID: ltx,
			Type: TxCommitOnePhase},
		"TransactionInfo.xa": &TransactionInfo{CommandHeader: h, ConnectionID: conn, TransactionID: xtx,
			Type: TxPrepare},
		"DestinationInfo": &DestinationInfo{CommandHeader: h, ConnectionID: conn, Destination: tq,
			OperationType: DestinationRemove, Timeout: 5, BrokerPath: []*BrokerID{bid}},
		"RemoveSubscriptionInfo": &RemoveSubscriptionInfo{CommandHeader: h, ConnectionID: conn,
			SubscriptionName: "s", ClientID: "c"},
		"KeepAliveInfo":         &KeepAliveInfo{CommandHeader: h},
		"ShutdownInfo":          &ShutdownInfo{CommandHeader: h},
		"RemoveInfo":            &RemoveInfo{CommandHeader: h, ObjectID: cid, LastDeliveredSequenceID: -2},
		"ControlCommand":        &ControlCommand{CommandHeader: h, Command: "shutdown"},
		"FlushCommand":          &FlushCommand{CommandHeader: h},
		"ConnectionError":       &ConnectionError{CommandHeader: h, Exception: exc, ConnectionID: conn},
		"ConsumerControl":       &ConsumerControl{CommandHeader: h, Destination: q, Close: true, ConsumerID: cid, Prefetch: 10, Flush: true, Start: true, Stop: true},
		"ConnectionControl":     &ConnectionControl{CommandHeader: h, Close: true, Exit: true, FaultTolerant: true, Resume: true, Suspend: true, ConnectedBrokers: "tcp://a,tcp://b", ReconnectTo: "tcp://c", RebalanceConnection: true, Token: []byte{1}},
		"ProducerAck":           &ProducerAck{CommandHeader: h, ProducerID: pid, Size: 100},
		"MessagePull":           &MessagePull{CommandHeader: h, ConsumerID: cid, Destination: q, Timeout: -1, CorrelationID: "x", MessageID: mid},
		"MessageDispatch":       &MessageDispatch{CommandHeader: h, ConsumerID: cid, Destination: q, Message: msg, RedeliveryCounter: 1},
		"MessageDispatch.empty": &MessageDispatch{CommandHeader: h, ConsumerID: cid, Destination: q},
		"MessageAck": &MessageAck{CommandHeader: h, Destination: q, TransactionID: ltx, ConsumerID: cid,
			AckType: AckPoison, FirstMessageID: mid, LastMessageID: mid, MessageCount: 1, PoisonCause: exc},
		"Message":                     &Message{Type: TypeMessage},
		"TextMessage":                 msg,
		"BlobMessage":                 &blob,
		"Response":                    &Response{CommandHeader: h, CorrelationID: 7},
		"ExceptionResponse":           &ExceptionResponse{CommandHeader: h, CorrelationID: 7, Exception: exc},
		"DataResponse":                &DataResponse{CommandHeader: h, CorrelationID: 7, Data: xtx},
		"DataArrayResponse":           &DataArrayResponse{CommandHeader: h, CorrelationID: 7, Data: []DataStructure{xtx, &SubscriptionInfo{ClientID: "c", Destination: q, SubscribedDestination: q, NoLocal: true}}},
		"IntegerResponse":             &IntegerResponse{CommandHeader: h, CorrelationID: 7, Result: -3},
		"MessageDispatchNotification": &MessageDispatchNotification{CommandHeader: h, ConsumerID: cid, Destination: q, DeliverySequenceID: 4, MessageID: mid},
		"BrokerSubscriptionInfo": &BrokerSubscriptionInfo{CommandHeader: h, BrokerID: bid, BrokerName: "b",
			SubscriptionInfos: []*SubscriptionInfo{{ClientID: "c", Destination: q, Selector: "x", SubscriptionName: "s"}}},
		"Destination": tq, "MessageID": mid, "ConnectionID": conn, "SessionID": sid, "ConsumerID": cid,
		"ProducerID": pid, "BrokerID": bid, "LocalTransactionID": ltx, "XATransactionID": xtx,
	}
}

func TestRoundTrip(t *testing.T) {
	for name, cmd := range roundTripCases() {
		t.Run(name, func(t *testing.T) {
			frame, err := Marshal(cmd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := NewDecoder(bytes.NewReader(frame), Options{}).Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, cmd) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, cmd)
			}
		})
	}
}

func TestKnownBytes(t *testing.T) {
	for _, tc := range []struct {
		cmd  Command
		want []byte
	}{
		{&KeepAliveInfo{}, []byte{0, 0, 0, 6, 0x0a, 0, 0, 0, 0, 0}},
		{&Response{CorrelationID: 7}, []byte{0, 0, 0, 0x0a, 0x1e, 0, 0, 0, 0, 0, 0, 0, 0, 7}},
		{nil, []byte{0, 0, 0, 1, 0}},
	} {
		got, err := Marshal(tc.cmd)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%T: %x %v, want %x", tc.cmd, got, err, tc.want)
		}
	}
	wf, err := Marshal(NewBrokerWireFormat(BrokerWireFormatConfig{}))
	if err != nil || !bytes.HasPrefix(wf[4:], append([]byte{1}, "ActiveMQ\x00\x00\x00\x0c\x01"...)) {
		t.Fatalf("broker WireFormatInfo %x %v", wf, err)
	}
}

func TestStackTrace(t *testing.T) {
	exc := &Throwable{Class: "java.lang.IllegalStateException", Message: "x",
		StackTrace: []StackTraceElement{{Class: "A", Method: "m", File: "A.java", Line: 3}},
		Cause:      &Throwable{Class: "java.io.IOException", Message: "y", StackTrace: []StackTraceElement{}}}
	cmd := &ExceptionResponse{CorrelationID: 1, Exception: exc}
	opts := Options{StackTraceEnabled: true}
	frame, err := AppendFrame(nil, cmd, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(frame, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := *exc
	want.Cause = &Throwable{Class: "java.io.IOException", Message: "y"}
	if !reflect.DeepEqual(got.(*ExceptionResponse).Exception, &want) {
		t.Fatalf("got %+v", got.(*ExceptionResponse).Exception)
	}
	if _, err := Unmarshal(frame, Options{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("stack trace frame decoded without the flag: %v", err)
	}
}

func TestModifiedUTF8(t *testing.T) {
	for _, tc := range []struct {
		s     string
		want  []byte
		units int // JavaLength
	}{
		{"a", []byte("a"), 1},
		{"\x00", []byte{0xc0, 0x80}, 1},
		{"é", []byte{0xc3, 0xa9}, 1},
		{"€", []byte{0xe2, 0x82, 0xac}, 1},
		{"\U0001F600", []byte{0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, 2},
		{"ID:host-1:1", []byte("ID:host-1:1"), 11}, // ASCII: the fast paths
		{"ab\x00c", []byte{'a', 'b', 0xc0, 0x80, 'c'}, 4},
		{"x€\U0001F600", []byte{'x', 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, 4},
	} {
		got := AppendModifiedUTF8([]byte("<"), tc.s)[1:]
		if !bytes.Equal(got, tc.want) || ModifiedUTF8Len(tc.s) != len(tc.want) || JavaLength(tc.s) != tc.units {
			t.Errorf("%q: %x (%d bytes, %d units), want %x", tc.s, got, ModifiedUTF8Len(tc.s), JavaLength(tc.s), tc.want)
		}
		back, err := DecodeModifiedUTF8(got)
		if err != nil || back != tc.s {
			t.Errorf("%q: decoded %q %v", tc.s, back, err)
		}
	}
	// Plain UTF-8's 4-byte form is read too (see MarshalJavaProperties).
	if s, err := DecodeModifiedUTF8([]byte{0xf0, 0x9f, 0x98, 0x80}); err != nil || s != "\U0001F600" {
		t.Errorf("4-byte UTF-8 decoded as %q %v", s, err)
	}
	for _, bad := range [][]byte{{0xf0, 0x9f, 0x98}, {0xf8, 0x80, 0x80, 0x80, 0x80}, {0x80}, {0xc3}, {0xe2, 0x82}} {
		if _, err := DecodeModifiedUTF8(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
	if s, _ := DecodeModifiedUTF8([]byte{0xed, 0xa0, 0xbd}); s != "\uFFFD" {
		t.Errorf("lone surrogate decoded as %q", s)
	}
}

func TestPrimitiveMap(t *testing.T) {
	in := map[string]any{"nil": nil, "b": true, "i8": int8(-1), "c": uint16(0xffff), "s": int16(-2),
		"i": int32(math.MinInt32), "l": int64(math.MaxInt64), "d": math.Inf(-1), "f": float32(0.5),
		"str": "x\x00", "big": strings.Repeat("é", bigStringThreshold), "edge": strings.Repeat("a", bigStringThreshold-1),
		"bytes": []byte{}, "m": map[string]any{"n": map[string]any{}}, "list": []any{[]any{}, "a", nil}}
	b, err := MarshalPrimitiveMap(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := UnmarshalPrimitiveMap(b, 0)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("%#v %v", out, err)
	}
	if !bytes.Contains(b, []byte("big\x0d")) || !bytes.Contains(b, []byte("edge\x09")) {
		t.Fatal("string code choice differs from Java (9 below 8191 UTF-16 units, 13 from there)")
	}
	if _, err := MarshalPrimitiveMap(map[string]any{"x": 1}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("Go int accepted: %v", err)
	}
	if m, err := UnmarshalPrimitiveMap([]byte{0xff, 0xff, 0xff, 0xff}, 0); m != nil || err != nil {
		t.Fatalf("null map: %v %v", m, err)
	}
	if _, err := UnmarshalPrimitiveMap([]byte{0, 0, 0, 2, 0, 1, 'a', 0}, 1); !errors.Is(err, ErrMalformed) {
		t.Fatalf("entry limit: %v", err)
	}
}

func TestBodyHelpers(t *testing.T) {
	for _, typ := range []byte{TypeTextMessage, TypeBytesMessage} {
		m := &Message{Type: typ}
		if err := m.SetText("zip "+strings.Repeat("\U0001F600", 500), true); err != nil {
			t.Fatal(err)
		}
		s, ok, err := m.Text(1 << 20)
		if typ == TypeTextMessage && (err != nil || !ok || s != "zip "+strings.Repeat("\U0001F600", 500)) {
			t.Fatalf("text %q %v %v", s, ok, err)
		}
		if body, err := m.Body(1 << 20); err != nil || !bytes.Equal(body, EncodeText(s)) && typ == TypeTextMessage {
			t.Fatalf("body %v", err)
		}
	}
	if _, ok, err := DecodeText([]byte{0xff, 0xff, 0xff, 0xff}); ok || err != nil {
		t.Fatalf("null text: %v %v", ok, err)
	}
	if _, _, err := DecodeText([]byte{0, 0, 0, 5, 'a'}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short text: %v", err)
	}
	m := &Message{}
	if err := m.SetProperties(map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Properties(); err != nil || p["k"] != "v" {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := Inflate([]byte("not zlib"), 10); !errors.Is(err, ErrMalformed) {
		t.Fatalf("inflate garbage: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	frame := func(b ...byte) []byte {
		return append([]byte{byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
	}
	deep := []byte{TypeMessageDispatch, 0, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 40; i++ {
		deep = append(deep, 1, TypeMessageDispatch, 0, 0, 0, 0, 0, 0, 0)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		opts Options
		want error
	}{
		{"too large", []byte{0, 0, 1, 0, 1}, Options{MaxFrameSize: 100}, ErrFrameTooLarge},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xff}, Options{}, ErrMalformed},
		{"zero size", []byte{0, 0, 0, 0}, Options{}, ErrMalformed},
		{"truncated frame", []byte{0, 0, 0, 9, 30, 0}, Options{}, io.ErrUnexpectedEOF},
		{"truncated size", []byte{0, 0}, Options{}, io.ErrUnexpectedEOF},
		{"empty", nil, Options{}, io.EOF},
		{"unknown type", frame(13), Options{}, ErrUnknownType},
		{"unknown nested", frame(TypeSessionInfo, 0, 0, 0, 0, 0, 1, 99), Options{}, ErrMalformed},
		{"wrong nested type", frame(TypeSessionInfo, 0, 0, 0, 0, 0, 1, TypeBrokerID, 0), Options{}, ErrMalformed},
		{"short body", frame(TypeResponse, 0, 0), Options{}, ErrMalformed},
		{"trailing bytes", frame(TypeShutdownInfo, 0, 0, 0, 0, 0, 9), Options{}, ErrMalformed},
		{"bad boolean", frame(TypeShutdownInfo, 0, 0, 0, 0, 2), Options{}, ErrMalformed},
		{"huge array", frame(TypeProducerInfo, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff), Options{}, ErrMalformed},
		{"string past end", frame(TypeControlCommand, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 'a'), Options{}, ErrMalformed},
		{"truncated 4-byte utf8", frame(TypeControlCommand, 0, 0, 0, 0, 0, 1, 0, 3, 0xf0, 0x9f, 0x98), Options{}, ErrMalformed},
		{"too deep", frame(deep...), Options{}, ErrMalformed},
		{"null with body", frame(0, 1), Options{}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDecoder(bytes.NewReader(tc.in), tc.opts).Decode()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	broker := NewBrokerWireFormat(BrokerWireFormatConfig{MaxInactivityDuration: 30e9})
	client := &WireFormatInfo{Version: 11}
	copy(client.Magic[:], Magic)
	client.SetBool(PropTightEncodingEnabled, true)
	client.SetInt64(PropMaxInactivityDuration, 0)
	n, err := Negotiate(broker, client)
	if err != nil || n.Version != 11 || n.TightEncoding || n.MaxInactivityDuration != 0 || n.MaxFrameSize != 0 {
		t.Fatalf("%+v %v", n, err)
	}
	if _, err := Negotiate(broker, &WireFormatInfo{Version: 12}); !errors.Is(err, ErrNegotiation) {
		t.Fatalf("bad magic accepted: %v", err)
	}
	// Types the Java client casts to.
	for key, want := range map[string]any{PropCacheSize: int32(0), PropMaxInactivityDuration: int64(30000),
		PropMaxFrameSize: int64(0), PropTightEncodingEnabled: false, PropCacheEnabled: false} {
		if got := broker.Properties[key]; got != want {
			t.Errorf("%s = %#v, want %#v", key, got, want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	long := strings.Repeat("x", 70000)
	if _, err := Marshal(&ControlCommand{Command: long}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("long string: %v", err)
	}
	if _, err := Marshal(&Message{Type: 40}); !errors.Is(err, ErrUnknownType) && !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("bad message type: %v", err)
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf, Options{})
	if err := enc.Encode(&KeepAliveInfo{}); err != nil || buf.Len() != 10 {
		t.Fatalf("%v %d", err, buf.Len())
	}
}

func TestLargeFrame(t *testing.T) {
	m := &Message{Type: TypeBytesMessage, Content: bytes.Repeat([]byte{7}, 3<<20)}
	var buf bytes.Buffer
	if err := NewEncoder(&buf, Options{}).Encode(m); err != nil {
		t.Fatal(err)
	}
	got, err := NewDecoder(bytes.NewReader(buf.Bytes()), Options{}).Decode()
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("large frame: %v", err)
	}
	// A size prefix promising more than arrives must fail without hanging.
	b := buf.Bytes()[:buf.Len()-1]
	if _, err := NewDecoder(bytes.NewReader(b), Options{}).Decode(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short large frame: %v", err)
	}
}
