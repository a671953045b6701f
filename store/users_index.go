package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"designate/engine"
)

// bucketUsersBy indexes the accounts by role, country, city and e-mail:
// role NUL country NUL city NUL e-mail, with the account id as the value.
// The outbox finds a message's recipients here, so the cost of an e-mail
// follows the accounts it goes to, not all the accounts there are. The
// engine refuses NUL in every one of these values, so a prefix never runs
// into another value. Every account has its one entry, disabled ones too:
// whether to write to an account is the engine's rule, not the index's.
//
// It is not in allBuckets: Open builds it from the accounts whenever it is
// missing (a database written before it existed), see buildUserIndex.
var bucketUsersBy = []byte("users_by")

// userIndexKey is the account's entry in users_by.
func userIndexKey(u *engine.User) []byte {
	k := make([]byte, 0, len(u.Role)+len(u.Country)+len(u.City)+len(u.Email)+3)
	k = append(append(k, u.Role...), 0)
	k = append(append(k, u.Country...), 0)
	k = append(append(k, u.City...), 0)
	return append(k, u.Email...)
}

// userIndexPrefix is the prefix of the entries of the role in the country,
// and in the city when city is set.
func userIndexPrefix(role engine.Role, country, city string) []byte {
	p := append(append([]byte(role), 0), country...)
	p = append(p, 0)
	if city != "" {
		p = append(append(p, city...), 0)
	}
	return p
}

// UsersWith returns the accounts of the role in the country, and in the
// city when city is set, by e-mail, from the index: it reads only those
// accounts.
func (t *tx) UsersWith(role engine.Role, country, city string) ([]*engine.User, error) {
	if t.btx.Bucket(bucketUsersBy) == nil {
		// Only a database opened read-only before a writer ever built it.
		return nil, fmt.Errorf("the account index %s is missing: open the database for writing once to build it", bucketUsersBy)
	}
	prefix := userIndexPrefix(role, country, city)
	users := []*engine.User{}
	c := t.bucket(bucketUsersBy).Cursor()
	for k, id := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
		u, err := t.User(string(id))
		if engine.ErrorCode(err) == engine.ENOTFOUND {
			return nil, fmt.Errorf("the account index names account %s, which is missing", id)
		} else if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if city == "" {
		// The entries run city by city; within a city they are by e-mail
		// already, which is the order the caller gets when it names one.
		slices.SortFunc(users, func(a, b *engine.User) int { return strings.Compare(a.Email, b.Email) })
	}
	return users, nil
}

// buildUserIndex creates users_by and fills it from the accounts, when it
// does not exist yet, in the caller's transaction (Open's), so the index is
// there, whole, exactly when its bucket is. Whether it is there depends on
// the bucket, not on the schema version.
func buildUserIndex(btx *bolt.Tx) error {
	if btx.Bucket(bucketUsersBy) != nil {
		return nil
	}
	idx, err := btx.CreateBucket(bucketUsersBy)
	if err != nil {
		return err
	}
	users := btx.Bucket(bucketUsers)
	if users == nil {
		return nil
	}
	return users.ForEach(func(k, v []byte) error {
		rec := userRecord{User: &engine.User{}}
		if err := json.Unmarshal(v, &rec); err != nil {
			// Left out rather than a server that cannot start: no one can
			// read this account anyway, and the check names it.
			return nil
		}
		return idx.Put(userIndexKey(rec.User), bytes.Clone(k))
	})
}

// userIndexName names an entry of users_by in the check's report:
// role/country/city/e-mail.
func userIndexName(k []byte) string { return strings.ReplaceAll(string(k), "\x00", "/") }

// userIndex checks users_by against the accounts, both ways: each account
// has the entry its record gives, naming it, and each entry is the one its
// account's record gives (a stray left behind by a move names an account
// that is elsewhere now). Accounts are thousands, not millions: both
// passes walk everything.
func (c *checker) userIndex() error {
	idx, users := c.bucket(bucketUsersBy), c.bucket(bucketUsers)
	if idx == nil {
		return nil // written before the index: the server builds it at its next start
	}
	err := users.ForEach(func(k, v []byte) error {
		if err := c.tick(); err != nil {
			return err
		}
		rec := userRecord{User: &engine.User{}}
		if json.Unmarshal(v, &rec) != nil || rec.ID != string(k) {
			return nil // reported by the accounts pass
		}
		key := userIndexKey(rec.User)
		switch owner := idx.Get(key); {
		case owner == nil:
			c.report("account "+string(k), "its entry %s is missing from users_by", userIndexName(key))
		case string(owner) != rec.ID:
			c.report("account "+string(k), "its entry %s in users_by names account %s", userIndexName(key), owner)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := 0
	err = idx.ForEach(func(k, v []byte) error {
		if err := c.tick(); err != nil {
			return err
		}
		n++
		where := "users_by " + userIndexName(k)
		raw := users.Get(v)
		if raw == nil {
			c.report(where, "names account %s, which does not exist", v)
			return nil
		}
		rec := userRecord{User: &engine.User{}}
		if json.Unmarshal(raw, &rec) != nil || rec.ID != string(v) {
			return nil // reported by the accounts pass
		}
		if key := userIndexKey(rec.User); !bytes.Equal(key, k) {
			c.report(where, "names account %s, whose record gives %s", v, userIndexName(key))
		}
		return nil
	})
	c.count("account index entries", n)
	return err
}
