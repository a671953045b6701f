package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"designate/engine"
)

// crockford is the alphabet of the engine's ids: Crockford's base32, upper
// case, without I, L, O and U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// FuzzValidID holds ValidID, the check every id and cursor passes before it
// reaches a storage key, to its definition: exactly engine.IDLen bytes, each
// from the Crockford alphabet, so no '/', '.', '%', NUL, lower case, space
// or multi-byte character ever passes.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{
		"06GZQK7J0JY0C899", "0000000000000000", "ZZZZZZZZZZZZZZZZ", "01JQ8ZJ5X0M3N7VB",
		"06gzqk7j0jy0c899", "06GZQK7J0JY0C89", "06GZQK7J0JY0C8999", "06GZQK7J0JY0C89I",
		"06GZQK7J0JY0C89/", "../../../../etc/", "06GZQK7J0JY0C89\x00", "06GZQK7J%2F0C899",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := engine.ValidID(s)
		want := len(s) == engine.IDLen
		for i := 0; want && i < len(s); i++ {
			want = strings.IndexByte(crockford, s[i]) >= 0
		}
		if got != want {
			t.Fatalf("ValidID(%q) = %v, want %v", s, got, want)
		}
		if got && (strings.ContainsAny(s, "/.%\\ \x00ILOUabcdefghijklmnopqrstuvwxyz") || s != strings.ToUpper(s)) {
			t.Fatalf("ValidID(%q) accepts a character no id has", s)
		}
	})
}

// FuzzValidSlug holds ValidSlug, the check on call and section ids, to its
// definition: 1 to 63 bytes of [a-z0-9-], not starting with a dash.
func FuzzValidSlug(f *testing.F) {
	for _, s := range []string{
		"creative-cities-2027", "a", "0", "a-", "a--b", strings.Repeat("a", 63), strings.Repeat("a", 64),
		"", "-a", "A", "a_b", "a.b", "a/b", "../x", "a\n", "a\x00", "é", "ａ", "a b", "a%2Fb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := engine.ValidSlug(s)
		want := len(s) >= 1 && len(s) <= 63 && s[0] != '-'
		for i := 0; want && i < len(s); i++ {
			c := s[i]
			want = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
		}
		if got != want {
			t.Fatalf("ValidSlug(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestMadeIDsAreValidIDs checks that the ids the engine makes (dossiers and
// accounts) pass ValidID, so a client can always send them back.
func TestMadeIDsAreValidIDs(t *testing.T) {
	e := MustOpenService(t)
	call := e.MustOpenCall(t)
	for i, country := range []string{"FR", "DE", "IT", "JP", "BR"} {
		city := e.City(t, fmt.Sprintf("City %d", i), country)
		app := e.MustDraft(t, call.ID, city, Music)
		if !engine.ValidID(app.ID) {
			t.Errorf("dossier id %q is not a ValidID", app.ID)
		}
		if !engine.ValidID(city.UserID) {
			t.Errorf("account id %q is not a ValidID", city.UserID)
		}
	}
}

// Ids made in one millisecond, as audit events are under a flood of
// refusals, still sort in the order they were made.
func TestIDs_MadeInOneMillisecond_SortInOrder(t *testing.T) {
	e := MustOpenService(t)
	for i := 0; i < 50; i++ {
		e.Service.Record(engine.AuditEvent{Actor: fmt.Sprintf("n%02d@example.org", i), Action: engine.AuditRefused})
	}
	events, _, err := e.Service.AuditLog(context.Background(), engine.Actor{Role: engine.RoleAdmin, Email: "admin@example.org"}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 50 {
		t.Fatalf("%d events, want 50", len(events))
	}
	for i, ev := range events {
		if want := fmt.Sprintf("n%02d@example.org", 49-i); ev.Actor != want || !engine.ValidID(ev.ID) {
			t.Fatalf("event %d is %s (%s), want %s newest first", i, ev.Actor, ev.ID, want)
		}
	}
}

// WordCount counts as strings.Fields splits, whatever the text: spaces of
// every kind, runs of them, invalid UTF-8.
func FuzzWordCount(f *testing.F) {
	for _, s := range []string{"", " ", "one", " two  words ", "tab\tand\nnewline", "no\u00a0break\u2003em", "\xff\xfe bad", "日本語 テキスト"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := engine.WordCount(s), len(strings.Fields(s)); got != want {
			t.Fatalf("WordCount(%q) = %d, strings.Fields gives %d", s, got, want)
		}
	})
}
