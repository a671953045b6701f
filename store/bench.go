package store

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// BenchBucket holds what the baseline write endpoint stores (bench.endpoints
// in config.yaml). Nothing of the domain is in it and nothing reads it; it
// exists only in a database whose server had the endpoints on, so it is not
// in allBuckets, and a check of the file's buckets may ignore it.
const BenchBucket = "bench"

var bucketBench = []byte(BenchBucket)

// BenchWrite stores value under key in the bench bucket, through the path
// every engine write takes (the committer), so it shares its commit with
// concurrent writes, and returns once that commit is synced. A load test
// compares the product's writes with it.
func (db *DB) BenchWrite(ctx context.Context, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.commit == nil {
		return errors.New("the database is open read-only")
	}
	return db.commit.do(ctx, func(btx *bolt.Tx) error {
		b, err := btx.CreateBucketIfNotExists(bucketBench)
		if err != nil {
			return err
		}
		return b.Put(key, value)
	})
}
