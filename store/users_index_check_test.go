package store

import (
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The check compares users_by with the accounts both ways: each corruption
// of the index, made with bbolt on the closed file, is reported as exactly
// the problem it is; a database without the index (written before it) is
// sound, since the server builds it at its next start.
func TestCheckIntegrity_UserIndex_EachCorruptionExactly(t *testing.T) {
	w := ckBuild(t)
	lyon := w.LyonAccount
	entry := "applicant/FR/Lyon/lyon@example.org"
	key := []byte(strings.ReplaceAll(entry, "/", "\x00"))
	for _, c := range []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    []string
	}{
		{"EntryMissing",
			func(tx *bolt.Tx) error { return tx.Bucket(bucketUsersBy).Delete(key) },
			[]string{"account " + lyon.ID + ": its entry " + entry + " is missing from users_by"}},
		{"StrayLeftByAMove",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketUsersBy).Put([]byte("applicant\x00FR\x00Paris\x00lyon@example.org"), []byte(lyon.ID))
			},
			[]string{"users_by applicant/FR/Paris/lyon@example.org: names account " + lyon.ID + ", whose record gives " + entry}},
		{"EntryOfNoAccount",
			func(tx *bolt.Tx) error {
				return tx.Bucket(bucketUsersBy).Put([]byte("commission\x00FR\x00\x00gone@example.org"), []byte("01ZZZZZZZZZZZZZZZZZZZZZZZZ"))
			},
			[]string{"users_by commission/FR//gone@example.org: names account 01ZZZZZZZZZZZZZZZZZZZZZZZZ, which does not exist"}},
		{"EntryNamesAnotherAccount",
			func(tx *bolt.Tx) error { return tx.Bucket(bucketUsersBy).Put(key, []byte(w.E1)) },
			[]string{"account " + lyon.ID + ": its entry " + entry + " in users_by names account " + w.E1,
				"users_by " + entry + ": names account " + w.E1 + ", whose record gives evaluator/DE//e1@example.org"}},
		{"IndexNotBuiltYet",
			func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketUsersBy) },
			[]string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := w.copyTo(t)
			rawUpdate(t, path, c.corrupt)
			got := ckProblems(t, path)
			slices.Sort(c.want)
			if !slices.Equal(got, c.want) {
				t.Fatalf("the check reported\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}
