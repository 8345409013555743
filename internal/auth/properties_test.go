package auth

import (
	"bytes"
	"log/slog"
	"reflect"
	"sync"
	"testing"
)

func TestParseProperties(t *testing.T) {
	src := "# ActiveMQ users\n" +
		"! also a comment\n" +
		"admin=admin-pw\n" +
		"  user : pass word  \n" +
		"guest pw\n" +
		"long=one,\\\n    two,\\\n    three\n" +
		"esc\\=aped=a\\tb\\u0041\\\\\n" +
		"empty=\n" +
		"\n" +
		"crlf=x\r\n" +
		"lonely\n"
	got, err := ParseProperties([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Property{
		{"admin", "admin-pw", 3},
		{"user", "pass word  ", 4},
		{"guest", "pw", 5},
		{"long", "one,two,three", 6},
		{"esc=aped", "a\tbA\\", 9},
		{"empty", "", 10},
		{"crlf", "x", 12},
		{"lonely", "", 13},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"a=\\u12", "a=\\uZZZZ", "\xff=x"} {
		if _, err := ParseProperties([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestUsersFromProperties(t *testing.T) {
	users := []byte("admin=" + adminHash + "\nsystem=manager\nuser=password\n")
	groups := []byte("admins=admin,system\nusers=admin, user ,ghost\n")
	got, plain, unknown, err := UsersFromProperties(users, groups)
	if err != nil {
		t.Fatal(err)
	}
	want := []User{
		{Name: "admin", Hash: adminHash, Groups: []string{"admins", "users"}},
		{Name: "system", Hash: "manager", Plain: true, Groups: []string{"admins"}},
		{Name: "user", Hash: "password", Plain: true, Groups: []string{"users"}},
	}
	if !reflect.DeepEqual(got, want) || plain != 2 || !reflect.DeepEqual(unknown, []string{"ghost"}) {
		t.Errorf("got %+v plain %d unknown %v", got, plain, unknown)
	}
	for _, bad := range []string{"a=1\na=2\n", "=x\n", "a=ENC(abc)\n"} {
		if _, _, _, err := UsersFromProperties([]byte(bad), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	g, err := New(Options{Enforced: true, Users: got})
	if err != nil {
		t.Fatal(err)
	}
	login(t, g, "system", "manager")
	login(t, g, "admin", "admin-secret")
}

// FuzzParseProperties checks that the properties parser never panics and
// that what it returns is stable: a key never contains an unescaped line
// break and each entry's line is within the input.
func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{
		"a=b\n", "a:b\n", "a b\n", "#c\n!c\n", "a=\\\n b\n", "a\\=b=c\n", "a=\\u0041\n", "a=\\u00\n",
		"a=\\\\\n", "a=\\", "\\", "a=b\r\nc=d", "  \t\f a = b", "x=\\uD800\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseProperties(data)
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range ps {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("entry %q at line %d of %d", p.Key, p.Line, lines)
			}
		}
		UsersFromProperties(data, data)
	})
}

// syncBuffer is a bytes.Buffer safe for a logger used from goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTextLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
