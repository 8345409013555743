package auth

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// marks is a LoginStore in memory, as the broker's marks are.
type marks struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *marks) Marked(k string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }
func (s *marks) Marks(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
func (s *marks) Mark(_ context.Context, ks ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range ks {
		s.m[k] = true
	}
	return nil
}
func (s *marks) Unmark(_ context.Context, ks ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range ks {
		delete(s.m, k)
	}
	return nil
}

func (s *marks) waitFor(t *testing.T, n int, prefix string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ks := s.Marks(prefix); len(ks) == n {
			return ks
		}
		if time.Now().After(deadline) {
			t.Fatalf("marks %v, want %d under %q", s.Marks(prefix), n, prefix)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRememberedLoginsSpareTheNextMaster: a login one guard verified is not
// hashed again by another guard over the same store (the next master); a
// wrong password is not remembered; a new password replaces the old one's
// mark; a user no longer configured loses its marks; ForgetLogins keeps
// nothing.
func TestRememberedLoginsSpareTheNextMaster(t *testing.T) {
	hash := func(pw string) string {
		h, err := HashPassword(pw, 4)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	ctx := context.Background()
	st := &marks{m: map[string]bool{}}
	users := []User{{Name: "app", Hash: hash("s3cret")}, {Name: "gone", Hash: hash("x")}}
	g1, err := New(Options{Enforced: true, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	g1.UseLoginStore(st)
	for _, c := range []Credentials{{Username: "app", Password: "s3cret"}, {Username: "gone", Password: "x"}} {
		if _, err := g1.Authenticate(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	g1.Authenticate(ctx, Credentials{Username: "app", Password: "wrong", Remote: "10.0.0.1:1"})
	st.waitFor(t, 2, loginPrefix)
	if st.Marked(rememberKey(&User{Name: "app", Hash: users[0].Hash}, "wrong")) {
		t.Fatal("a wrong password is remembered")
	}

	// The next master: the same users but "gone", over the same store.
	g2, err := New(Options{Enforced: true, Users: users[:1], FailDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g2.UseLoginStore(st)
	st.waitFor(t, 1, loginPrefix) // gone's mark pruned
	if _, err := g2.Authenticate(ctx, Credentials{Username: "app", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if n := g2.verifications.Load(); n != 0 {
		t.Fatalf("the next master hashed %d times for a remembered login", n)
	}
	if _, err := g2.Authenticate(ctx, Credentials{Username: "app", Password: "wrong"}); err == nil {
		t.Fatal("a wrong password accepted")
	}
	if n := g2.verifications.Load(); n != 1 {
		t.Fatalf("a wrong password was not hashed (%d)", n)
	}

	// The password changes: the old mark goes, the new one replaces it.
	users[0].Hash = hash("n3w")
	g3, _ := New(Options{Enforced: true, Users: users[:1]})
	g3.UseLoginStore(st)
	if _, err := g3.Authenticate(ctx, Credentials{Username: "app", Password: "s3cret"}); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := g3.Authenticate(ctx, Credentials{Username: "app", Password: "n3w"}); err != nil {
		t.Fatal(err)
	}
	want := rememberKey(&users[0], "n3w")
	deadline := time.Now().Add(5 * time.Second)
	for ks := st.Marks(loginPrefix); len(ks) != 1 || ks[0] != want; ks = st.Marks(loginPrefix) {
		if time.Now().After(deadline) {
			t.Fatalf("marks %v, want only %s", ks, want)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Remembering off: nothing stored, nothing used.
	g4, _ := New(Options{Enforced: true, Users: users[:1], ForgetLogins: true})
	g4.UseLoginStore(st)
	g4.Authenticate(ctx, Credentials{Username: "app", Password: "n3w"})
	if n := g4.verifications.Load(); n != 1 {
		t.Fatalf("ForgetLogins used the store (%d hashes)", n)
	}
}
