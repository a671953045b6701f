package store

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// uiUser is an account as the engine would store it, with a fixed id.
func uiUser(n int, email string, role engine.Role, country, city string) *engine.User {
	return &engine.User{ID: fmt.Sprintf("%026d", n), Email: email, Role: role, Country: country, City: city, Language: "en",
		PasswordHash: "hash"}
}

func uiPut(tb testing.TB, db *DB, users ...*engine.User) {
	tb.Helper()
	for _, u := range users {
		if err := db.Update(context.Background(), func(tx engine.Tx) error { return tx.PutUser(u) }); err != nil {
			tb.Fatalf("put account %s: %v", u.Email, err)
		}
	}
}

// uiWith is the e-mails UsersWith gives, in its order.
func uiWith(tb testing.TB, db *DB, role engine.Role, country, city string) []string {
	tb.Helper()
	var got []string
	err := db.View(context.Background(), func(tx engine.ReadTx) error {
		users, err := tx.UsersWith(role, country, city)
		for _, u := range users {
			got = append(got, u.Email)
		}
		return err
	})
	if err != nil {
		tb.Fatalf("UsersWith(%s, %s, %s): %v", role, country, city, err)
	}
	return got
}

func uiAssert(tb testing.TB, db *DB, role engine.Role, country, city string, want ...string) {
	tb.Helper()
	if got := uiWith(tb, db, role, country, city); !slices.Equal(got, want) {
		tb.Fatalf("UsersWith(%s, %q, %q) = %q, want %q", role, country, city, got, want)
	}
}

// uiEntries is the index as stored: key (NULs as /) → account id.
func uiEntries(tb testing.TB, db *DB) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := db.bolt.View(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketUsersBy).ForEach(func(k, v []byte) error {
			out[strings.ReplaceAll(string(k), "\x00", "/")] = string(v)
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// uiPopulation is a few places' accounts: two Lyons in two countries, a
// commission with a disabled member, and roles that share a place.
func uiPopulation() []*engine.User {
	disabled := uiUser(4, "c-old@lyon.example.org", engine.RoleApplicant, "FR", "Lyon")
	disabled.Disabled = true
	return []*engine.User{
		uiUser(1, "b@lyon.example.org", engine.RoleApplicant, "FR", "Lyon"),
		uiUser(2, "a@lyon.example.org", engine.RoleApplicant, "FR", "Lyon"),
		uiUser(3, "a@lyon.example.ca", engine.RoleApplicant, "CA", "Lyon"),
		disabled,
		uiUser(5, "z@rouen.example.org", engine.RoleApplicant, "FR", "Rouen"),
		uiUser(6, "commission-2@fr.example.org", engine.RoleCommission, "FR", ""),
		uiUser(7, "commission-1@fr.example.org", engine.RoleCommission, "FR", ""),
		uiUser(8, "commission@pt.example.org", engine.RoleCommission, "PT", ""),
		uiUser(9, "member@lyon.example.org", engine.RoleEvaluator, "FR", "Lyon"),
		uiUser(10, "secretariat@example.org", engine.RoleSecretariat, "", ""),
	}
}

func TestUsersWith_ByRoleAndPlace_InEmailOrder(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	defer mustClose(t, db)
	uiPut(t, db, uiPopulation()...)

	uiAssert(t, db, engine.RoleApplicant, "FR", "Lyon", "a@lyon.example.org", "b@lyon.example.org", "c-old@lyon.example.org")
	uiAssert(t, db, engine.RoleApplicant, "CA", "Lyon", "a@lyon.example.ca")
	// Without a city: every city of the country, still by e-mail.
	uiAssert(t, db, engine.RoleApplicant, "FR", "", "a@lyon.example.org", "b@lyon.example.org", "c-old@lyon.example.org", "z@rouen.example.org")
	uiAssert(t, db, engine.RoleCommission, "FR", "", "commission-1@fr.example.org", "commission-2@fr.example.org")
	uiAssert(t, db, engine.RoleEvaluator, "FR", "Lyon", "member@lyon.example.org")
	uiAssert(t, db, engine.RoleSecretariat, "", "", "secretariat@example.org")
	// A city's name that begins another's is not that city.
	uiPut(t, db, uiUser(11, "a@lyon2.example.org", engine.RoleApplicant, "FR", "Lyo"))
	uiAssert(t, db, engine.RoleApplicant, "FR", "Lyo", "a@lyon2.example.org")
	uiAssert(t, db, engine.RoleApplicant, "DE", "")
}

func TestUsersWith_FollowsAChangeOfCityCountryRoleOrEmail(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	defer mustClose(t, db)
	users := uiPopulation()
	uiPut(t, db, users...)
	b := *users[0] // b@lyon.example.org, applicant of Lyon FR

	for _, step := range []struct {
		name   string
		change func(u *engine.User)
		// where the account must now be found, and the place it left
		role          engine.Role
		country, city string
		left          [3]string
	}{
		{"City", func(u *engine.User) { u.City = "Rouen" }, engine.RoleApplicant, "FR", "Rouen", [3]string{"applicant", "FR", "Lyon"}},
		{"Country", func(u *engine.User) { u.Country, u.City = "PT", "Porto" }, engine.RoleApplicant, "PT", "Porto", [3]string{"applicant", "FR", "Rouen"}},
		{"Role", func(u *engine.User) { u.Role, u.City = engine.RoleCommission, "" }, engine.RoleCommission, "PT", "", [3]string{"applicant", "PT", "Porto"}},
		{"Email", func(u *engine.User) { u.Email = "a-new@pt.example.org" }, engine.RoleCommission, "PT", "", [3]string{}},
		{"Disabled", func(u *engine.User) { u.Disabled = true }, engine.RoleCommission, "PT", "", [3]string{}},
	} {
		t.Run(step.name, func(t *testing.T) {
			before := len(uiEntries(t, db))
			step.change(&b)
			uiPut(t, db, &b)
			got := uiWith(t, db, step.role, step.country, step.city)
			if !slices.Contains(got, b.Email) {
				t.Fatalf("after the change, UsersWith(%s, %s, %s) = %q, without %s", step.role, step.country, step.city, got, b.Email)
			}
			if step.left[0] != "" {
				if got := uiWith(t, db, engine.Role(step.left[0]), step.left[1], step.left[2]); slices.Contains(got, b.Email) {
					t.Fatalf("after the change, the place it left still lists it: %q", got)
				}
			}
			entries := uiEntries(t, db)
			if len(entries) != before || len(entries) != len(users) {
				t.Fatalf("%d index entries after the change (%d before), want one per account (%d): %v", len(entries), before, len(users), entries)
			}
			want := strings.ReplaceAll(string(userIndexKey(&b)), "\x00", "/")
			if entries[want] != b.ID {
				t.Fatalf("entry %q = %q, want %s; index %v", want, entries[want], b.ID, entries)
			}
		})
	}
	// The commission of PT is now two accounts, in e-mail order, the
	// renamed one first; its old e-mail is nobody's.
	uiAssert(t, db, engine.RoleCommission, "PT", "", "a-new@pt.example.org", "commission@pt.example.org")
	uiAssert(t, db, engine.RoleApplicant, "FR", "Lyon", "a@lyon.example.org", "c-old@lyon.example.org")
}

// TestPutUser_TakenEmail_IsRefusedBeforeAnyWrite: the refusal comes before
// the wrote flag is set, so Update answers it without failing the other
// writes of its commit, and it leaves the indexes as they were.
func TestPutUser_TakenEmail_IsRefusedBeforeAnyWrite(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "designate.db"), Options{})
	defer mustClose(t, db)
	users := uiPopulation()
	uiPut(t, db, users...)
	before := uiEntries(t, db)

	thief := *users[1]
	thief.Email = users[0].Email
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		tx := &tx{btx: btx, cache: db.cache}
		err := tx.PutUser(&thief)
		if engine.ErrorCode(err) != engine.ECONFLICT {
			t.Errorf("PutUser with a taken e-mail: %v, want ECONFLICT", err)
		}
		if tx.wrote {
			t.Errorf("the refused PutUser set wrote")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx engine.Tx) error { return tx.PutUser(&thief) })
	if engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("Update with a taken e-mail: %v, want ECONFLICT", err)
	}
	if after := uiEntries(t, db); !maps.Equal(after, before) {
		t.Fatalf("the refusal changed the index:\n%v\nwas\n%v", after, before)
	}
}

// TestOpen_WithoutTheUserIndex_BuildsIt: a database written before the
// index existed gets it, whole, at its next open, whatever its schema
// version; a later open leaves it alone.
func TestOpen_WithoutTheUserIndex_BuildsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "designate.db")
	db := mustOpen(t, path, Options{})
	users := uiPopulation()
	uiPut(t, db, users...)
	want := uiEntries(t, db)
	mustClose(t, db)
	if len(want) != len(users) {
		t.Fatalf("%d entries for %d accounts", len(want), len(users))
	}

	rawUpdate(t, path, func(btx *bolt.Tx) error { return btx.DeleteBucket(bucketUsersBy) })
	// Read-only, nothing builds it: the answer is an error, not "nobody".
	ro := mustOpen(t, path, Options{ReadOnly: true})
	err := ro.View(context.Background(), func(tx engine.ReadTx) error {
		_, err := tx.UsersWith(engine.RoleApplicant, "FR", "Lyon")
		return err
	})
	mustClose(t, ro)
	if err == nil || !strings.Contains(err.Error(), "users_by") {
		t.Fatalf("UsersWith without the index: %v, want an error naming it", err)
	}

	for range 2 {
		db = mustOpen(t, path, Options{})
		if got := uiEntries(t, db); !maps.Equal(got, want) {
			t.Fatalf("after open, the index is\n%v\nwant\n%v", got, want)
		}
		uiAssert(t, db, engine.RoleCommission, "FR", "", "commission-1@fr.example.org", "commission-2@fr.example.org")
		mustClose(t, db)
	}
	if v := schemaOf(t, path); v != schemaVersion {
		t.Fatalf("schema %q after the build, want %q unchanged", v, schemaVersion)
	}
}
