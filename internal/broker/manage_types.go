package broker

import (
	"time"

	"github.com/piermq/pier/internal/message"
)

// The management interface of the core: what the console, the REST API and
// the metrics read and do, through methods of Broker (see manage.go), never
// through the broker's internals. Everything here is a copy: holding one
// holds no lock and no message body beyond the preview.

// DestInfo is one destination as an operator sees it.
type DestInfo struct {
	Dest message.Destination
	// Depth is the messages held: for a queue, waiting plus delivered and
	// not yet acknowledged; for a topic, the backlog of its durable
	// subscriptions.
	Depth     int64
	InFlight  int64  // delivered, not yet acknowledged
	Enqueued  uint64 // accepted since the broker started (this span of service)
	Dequeued  uint64 // acknowledged (consumed, purged, moved away) since then
	Expired   uint64 // dropped or dead-lettered for expiry since then
	Consumers int
	Producers int   // producers that named this destination and are open
	Memory    int64 // bytes of message bodies held in memory
}

// DestQuery selects and orders a page of destinations.
type DestQuery struct {
	Kind     message.DestKind // 0: all kinds
	Contains string           // a substring of the name (case-insensitive); "": all
	// Sort is "name" (default), "depth", "enqueued", "dequeued" or
	// "consumers"; Desc reverses it. Ties are broken by name.
	Sort   string
	Desc   bool
	Offset int
	Limit  int // 0: 100; at most 1000; AllDestinations: every one, unsorted
}

// AllDestinations as DestQuery.Limit asks for every matching destination
// at once, in no order (for in-process readers such as a metrics scrape;
// the REST API pages).
const AllDestinations = -1

// DestPage is one page of destinations and how many matched in all.
type DestPage struct {
	Total int
	Items []DestInfo
}

// MessageInfo is one message as the console shows it: headers, properties
// and the first bytes of the body.
type MessageInfo struct {
	ID            string
	Position      int64 // its place in the queue's order when browsed (0: first)
	Dest          message.Destination
	OriginalDest  message.Destination // set on dead letters and moved messages
	Timestamp     int64               // unix ms
	Expiration    int64               // unix ms; 0: never
	Priority      uint8
	Persistent    bool
	Redelivered   bool
	DeliveryCount int32
	CorrelationID string
	Type          string
	ReplyTo       message.Destination
	GroupID       string
	GroupSeq      int32
	UserID        string
	Properties    map[string]any
	BodyKind      message.BodyKind
	BodySize      int
	BodyPreview   []byte // at most PreviewBytes
	InFlight      bool   // delivered to a consumer, not yet acknowledged
}

// PreviewBytes bounds MessageInfo.BodyPreview.
const PreviewBytes = 1024

// ConnInfo is one client connection.
type ConnInfo struct {
	ID        string // stable while it is open; CloseConnection takes it
	Protocol  string // openwire, stomp, ...
	Remote    string // the peer's address
	User      string
	ClientID  string
	Since     time.Time
	Consumers int
	Producers int
}

// DurableInfo is one durable topic subscription.
type DurableInfo struct {
	ClientID string
	Name     string
	Topic    string
	Selector string
	Backlog  int64
	Online   bool // a consumer is attached
}

// Overview is the broker as a whole.
type Overview struct {
	Name          string
	ID            string
	Started       time.Time      // this span of service
	Connections   map[string]int // by protocol
	MemoryUsed    int64
	MemoryLimit   int64
	StoreUsed     int64 // the store's bytes (store.Usage)
	StoreLimit    int64 // its configured limit; 0: none
	StoreMessages int64
	Queues        int
	Topics        int
	ScheduledJobs int
	Enqueued      uint64 // all destinations, since Started
	Dequeued      uint64
}
