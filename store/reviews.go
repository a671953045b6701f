package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"designate/engine"
)

// bucketReviews holds reviews and bucketConflicts declared conflicts of
// interest, both under dossier id + NUL + evaluator id, so a dossier's are
// contiguous.
var (
	bucketReviews   = []byte("reviews")
	bucketConflicts = []byte("conflicts")
)

// Review returns the evaluator's review of the dossier.
func (t *tx) Review(appID, evaluatorID string) (*engine.Review, error) {
	raw := t.bucket(bucketReviews).Get(assignmentKey(appID, evaluatorID))
	if raw == nil {
		return nil, engine.Errorf(engine.ENOTFOUND, "No such review.")
	}
	var r engine.Review
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode review of %s by %s: %w", appID, evaluatorID, err)
	}
	return &r, nil
}

// Reviews returns the dossier's reviews.
func (t *tx) Reviews(appID string) ([]engine.Review, error) {
	return listUnder[engine.Review](t, bucketReviews, appID)
}

// Conflicts returns the conflicts declared on the dossier.
func (t *tx) Conflicts(appID string) ([]engine.Conflict, error) {
	return listUnder[engine.Conflict](t, bucketConflicts, appID)
}

// listUnder decodes every record of the bucket under the dossier's prefix.
func listUnder[T any](t *tx, bucket []byte, appID string) ([]T, error) {
	out := []T{}
	c := t.bucket(bucket).Cursor()
	prefix := []byte(appID + "\x00")
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode %s %q: %w", bucket, k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// PutReview stores the review.
func (t *tx) PutReview(r *engine.Review) error {
	t.wrote = true
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return t.bucket(bucketReviews).Put(assignmentKey(r.Application, r.Evaluator), raw)
}

// DeleteReview removes the review, if there is one.
func (t *tx) DeleteReview(appID, evaluatorID string) error {
	t.wrote = true
	return t.bucket(bucketReviews).Delete(assignmentKey(appID, evaluatorID))
}

// PutConflict stores the declaration.
func (t *tx) PutConflict(c *engine.Conflict) error {
	t.wrote = true
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return t.bucket(bucketConflicts).Put(assignmentKey(c.Application, c.Evaluator), raw)
}
