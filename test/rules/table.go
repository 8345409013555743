package rules

// The repository's import rules (see DESIGN.md, "The shape of the code"):
// protocols know the core, the core knows the store interface, no store
// knows a protocol, and only cmd/ wires concrete implementations.

// storeImpls are the concrete store implementations.
func storeImpls() Set {
	return Set{
		Include: []string{"internal/store/...", "internal/replication/..."},
		Exclude: []string{"internal/store", "internal/store/storetest", "internal/store/vfs"},
	}
}

// Imports returns the table of import rules.
func Imports() []ImportRule {
	return []ImportRule{
		{
			From: Set{Include: []string{"internal/broker/..."}},
			Deny: Set{
				Include: []string{
					"internal/protocol/...", "internal/store/...", "internal/replication/...",
					"internal/server/...", "internal/config/...", "internal/admin/...",
					"internal/ha/...", "internal/network/...", "net/http", "net/http/...",
				},
				Exclude: []string{"internal/store"},
			},
			TestAllow: []string{"internal/store/storetest"},
			Why:       "the core does no network, file or protocol work and knows only the store interface",
		},
		{
			From: Set{Include: []string{"internal/store/..."}},
			Deny: Set{Include: []string{
				"internal/broker/...", "internal/protocol/...", "internal/server/...",
				"internal/admin/...", "internal/network/...",
			}},
			Why: "stores sit below the core and know no protocol",
		},
		{
			From: Set{Include: []string{"internal/protocol/..."}},
			Deny: Set{
				Include: []string{"internal/store/...", "internal/replication/...", "internal/server/..."},
				Exclude: []string{"internal/store"},
			},
			TestAllow: []string{"internal/store/storetest"},
			Why:       "protocol adapters talk to the core, never to a store implementation",
		},
		{
			From: Set{Include: []string{"internal/network/..."}},
			Deny: Set{
				Include: []string{
					"internal/protocol/...", "internal/store/...", "internal/replication/...",
					"internal/server/...", "internal/config/...", "internal/admin/...", "internal/ha/...",
					"net/http", "net/http/...",
				},
				Exclude: []string{"internal/store", "internal/protocol/openwire/wire"},
			},
			TestAllow: []string{"internal/store/storetest", "internal/protocol/openwire", "internal/protocol/netserve"},
			Why: "a bridge uses the core for its local side and the Go client for the remote one " +
				"(and OpenWire's body codec, the core's encoding of map and stream bodies); " +
				"the server wires it, and tests start brokers",
		},
		{
			From: Set{Include: []string{"internal/message/..."}},
			Deny: Set{Include: []string{"internal/..."}, Exclude: []string{"internal/message/..."}},
			Why:  "the message model is the bottom layer",
		},
		{
			From: Set{Include: []string{"internal/broker/cron/..."}},
			Deny: Set{Include: []string{"internal/..."}, Exclude: []string{"internal/broker/cron/..."}},
			Why:  "the scheduler's cron expressions are a leaf the core uses: times in, times out",
		},
		{
			From: Set{Include: []string{"internal/auth/..."}},
			Deny: Set{
				Include: []string{"internal/...", "net/http", "net/http/..."},
				Exclude: []string{"internal/message", "internal/auth/..."},
			},
			Why: "the front door is below the core: it knows users, grants and destination names, nothing else",
		},
		{
			From:      Set{Include: []string{"internal/replication/zkgroup"}},
			Deny:      Set{Include: []string{"internal/..."}},
			TestAllow: []string{"internal/zktest"},
			Why:       "ZooKeeper discovery knows ZooKeeper and its own file, nothing of Pier: cmd/ tells it what to register and hands the group to replication",
		},
		{
			From: Set{Include: []string{"internal/zktest"}},
			Deny: Set{Include: []string{"internal/..."}},
			Why:  "a test helper that runs a ZooKeeper server knows no part of Pier",
		},
		{
			From: Set{Include: []string{"internal/protocol/mqtt/packet"}},
			Deny: Set{Include: []string{"internal/..."}, Exclude: []string{"internal/protocol/connbuf"}},
			Why:  "the MQTT codec is a leaf: bytes in, packets out, and back (it shares only connbuf's bounded reads); the MQTT adapter maps them onto the core",
		},
		{
			From: Set{Include: []string{"internal/config/..."}},
			Deny: Set{Include: []string{"internal/..."}, Exclude: []string{"internal/config/..."}},
			Why:  "the configuration schema is a leaf; cmd/ turns it into each package's options",
		},
	}
}

// Wiring returns the table of wiring rules.
func Wiring() []WiringRule {
	return []WiringRule{{
		Exempt: Set{Include: []string{"cmd/..."}},
		A:      storeImpls(),
		B:      Set{Include: []string{"internal/protocol/..."}},
		Why:    "main only wires: concrete stores and protocol adapters meet in cmd/",
	}}
}
