package config

import "go.yaml.in/yaml/v3"

// The schema: one function per section, each listing its keys in the order
// the error messages show them.

func (d *decoder) root(n *yaml.Node, c *Config) {
	d.mapping("", n, []field{
		{"broker", func(p string, v *yaml.Node) { d.broker(p, v, &c.Broker) }},
		{"transports", func(p string, v *yaml.Node) { d.transports(p, v, &c.Transports) }},
		{"console", func(p string, v *yaml.Node) {
			d.mapping(p, v, []field{
				{"listen", d.str(&c.Console.Listen)},
				{"admin_groups", d.strList(&c.Console.AdminGroups)},
				{"metrics_destinations", d.strList(&c.Console.MetricsDestinations)},
			})
		}},
		{"store", func(p string, v *yaml.Node) { d.store(p, v, &c.Store) }},
		{"network_connectors", func(p string, v *yaml.Node) { d.connectors(p, v, &c.NetworkConnectors) }},
		{"limits", func(p string, v *yaml.Node) { d.limits(p, v, &c.Limits) }},
		{"mqtt", func(p string, v *yaml.Node) {
			d.mapping(p, v, []field{
				{"max_inflight", d.integer(&c.MQTT.MaxInflight)},
				{"max_queued", d.integer(&c.MQTT.MaxQueued)},
				{"receive_maximum", d.integer(&c.MQTT.ReceiveMaximum)},
				{"max_keep_alive", d.duration(&c.MQTT.MaxKeepAlive)},
				{"max_session_expiry", d.duration(&c.MQTT.MaxSessionExpiry)},
				{"topic_alias_maximum", d.integer(&c.MQTT.TopicAliasMaximum)},
			})
		}},
		{"policies", func(p string, v *yaml.Node) { d.policies(p, v, &c.Policies) }},
		{"tls", func(p string, v *yaml.Node) { d.tls(p, v, &c.TLS) }},
		{"security", func(p string, v *yaml.Node) { d.security(p, v, &c.Security) }},
	})
}

func (d *decoder) broker(path string, n *yaml.Node, b *Broker) {
	d.mapping(path, n, []field{
		{"name", d.str(&b.Name)},
		{"data_dir", d.str(&b.DataDir)},
		{"advertise_host", d.str(&b.AdvertiseHost)},
		{"scheduler", func(p string, v *yaml.Node) {
			on := !b.NoScheduler
			d.boolean(&on)(p, v)
			b.NoScheduler = !on
		}},
	})
}

// transports replaces the default set: a transport not named is disabled.
func (d *decoder) transports(path string, n *yaml.Node, t *Transports) {
	if resolve(n) != nil && resolve(n).Kind == yaml.MappingNode {
		*t = Transports{}
	}
	d.mapping(path, n, []field{
		{"openwire", d.str(&t.OpenWire)},
		{"stomp", d.str(&t.STOMP)},
		{"mqtt", d.str(&t.MQTT)},
		{"ws", d.str(&t.WS)},
		{"amqp", d.str(&t.AMQP)},
	})
}

func (d *decoder) store(path string, n *yaml.Node, s *Store) {
	d.mapping(path, n, []field{
		{"kind", func(p string, v *yaml.Node) {
			var k string
			d.oneOf(&k, string(StoreJournal), string(StoreSQL), string(StoreReplicated))(p, v)
			if k != "" {
				s.Kind = StoreKind(k)
			}
		}},
		{"journal", func(p string, v *yaml.Node) {
			d.mapping(p, v, []field{
				{"dir", d.str(&s.Journal.Dir)},
				{"segment_size", d.size(&s.Journal.SegmentSize)},
				{"max_size", d.size(&s.Journal.MaxSize)},
			})
		}},
		{"sql", func(p string, v *yaml.Node) {
			d.mapping(p, v, []field{
				{"driver", d.oneOf(&s.SQL.Driver, DriverPostgres, DriverMySQL)},
				{"dsn", d.str(&s.SQL.DSN)},
				{"lease_duration", d.duration(&s.SQL.LeaseDuration)},
			})
		}},
		{"replicated", func(p string, v *yaml.Node) {
			d.mapping(p, v, []field{
				{"node_id", d.str(&s.Replicated.NodeID)},
				{"bind", d.str(&s.Replicated.Bind)},
				{"peers", d.stringMap(&s.Replicated.Peers)},
				{"zookeeper", func(p string, v *yaml.Node) { d.zookeeper(p, v, &s.Replicated.ZooKeeper) }},
				{"replicas", d.integer(&s.Replicated.Replicas)},
				{"hostname", d.str(&s.Replicated.Hostname)},
				{"election_timeout", d.duration(&s.Replicated.ElectionTimeout)},
				{"snapshot_threshold", d.integer(&s.Replicated.SnapshotThreshold)},
				{"tls", func(p string, v *yaml.Node) { d.replicationTLS(p, v, &s.Replicated.TLS) }},
				{"insecure", d.boolean(&s.Replicated.Insecure)},
			})
		}},
	})
}

// connectors replaces the list; each item starts from NewNetworkConnector.
func (d *decoder) connectors(path string, n *yaml.Node, list *[]NetworkConnector) {
	*list = nil
	d.sequence(path, n, func(p string, v *yaml.Node) {
		if isNull(resolve(v)) {
			d.expected(p, v, "a network connector (a mapping)")
			return
		}
		c := NewNetworkConnector()
		d.mapping(p, v, []field{
			{"name", d.str(&c.Name)},
			{"uri", d.str(&c.URI)},
			{"duplex", d.boolean(&c.Duplex)},
			{"network_ttl", d.integer(&c.NetworkTTL)},
			{"conduit_subscriptions", d.boolean(&c.ConduitSubscriptions)},
			{"dynamic_only", d.boolean(&c.DynamicOnly)},
			{"decrease_network_consumer_priority", d.boolean(&c.DecreaseNetworkConsumerPriority)},
			{"excluded_destinations", d.strList(&c.ExcludedDestinations)},
			{"dynamically_included_destinations", d.strList(&c.DynamicallyIncludedDestinations)},
			{"statically_included_destinations", d.strList(&c.StaticallyIncludedDestinations)},
			{"prefetch_size", d.integer(&c.PrefetchSize)},
			{"username", d.str(&c.Username)},
			{"password", d.str(&c.Password)},
		})
		*list = append(*list, c)
	})
}

func (d *decoder) limits(path string, n *yaml.Node, l *Limits) {
	d.mapping(path, n, []field{
		{"memory", d.size(&l.Memory)},
		{"max_frame_size", d.size(&l.MaxFrameSize)},
		{"max_headers", d.integer(&l.MaxHeaders)},
		{"max_header_length", d.size(&l.MaxHeaderLength)},
		{"max_connections", d.integer(&l.MaxConnections)},
	})
}

func (d *decoder) zookeeper(path string, n *yaml.Node, z *ZooKeeper) {
	d.mapping(path, n, []field{
		{"address", d.str(&z.Address)},
		{"path", d.str(&z.Path)},
		{"session_timeout", d.duration(&z.SessionTimeout)},
		{"password", d.str(&z.Password)},
	})
}
