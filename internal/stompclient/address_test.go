package stompclient

import "testing"

func TestParseAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"stomp://127.0.0.1:61613", "127.0.0.1:61613"},
		{"tcp://broker:1234", "broker:1234"},
		{"localhost:7000", "localhost:7000"},
		{"localhost", "localhost:61613"},
		{"stomp://[::1]:5", "[::1]:5"},
		{"[::1]", "[::1]:61613"},
		{"stomp+ssl://broker:61612", "stomp+ssl://broker:61612"},
		{"ssl://broker", "stomp+ssl://broker:61612"},
		{"STOMP+SSL://[::1]:5", "stomp+ssl://[::1]:5"},
	}
	for _, tt := range tests {
		if got, err := ParseAddr(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"http://x:1", "stomp://", "", "stomp+ssl://", "stomp+nio://x:1", "stomp://x:1?a=b", "stomp://x:1/path"} {
		if got, err := ParseAddr(bad); err == nil {
			t.Errorf("ParseAddr(%q) = %q, want error", bad, got)
		}
	}
}

func TestParseDestination(t *testing.T) {
	tests := []struct{ in, want string }{
		{"queue://orders", "/queue/orders"},
		{"topic://a.b", "/topic/a.b"},
		{"/queue/x", "/queue/x"},
		{"/topic/y", "/topic/y"},
		{"temp-queue://r", "/temp-queue/r"},
	}
	for _, tt := range tests {
		if got, err := ParseDestination(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseDestination(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"orders", "queue://", "/queue/", "fifo://x", "/other/x", "queue:///orders", "/queue//orders"} {
		if got, err := ParseDestination(bad); err == nil {
			t.Errorf("ParseDestination(%q) = %q, want error", bad, got)
		}
	}
}
