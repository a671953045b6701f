package engine

import (
	"context"
	"time"
)

// Store keeps what the engine decides. The engine states each change as a
// function of a transaction so that a state, its history and its indexes are
// written together or not at all. store.DB implements it on bbolt; a
// replicated backend implements the same contract.
type Store interface {
	// Update runs fn in a read-write transaction and returns once the
	// transaction is durable. fn may run more than once (writes are grouped
	// into one commit), so it must have no effect outside tx other than
	// setting the caller's results. An error from fn rolls back its writes.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction on a consistent snapshot.
	View(ctx context.Context, fn func(tx ReadTx) error) error
}

// ReadTx reads domain records inside one transaction.
type ReadTx interface {
	// Call returns the call. Returns ENOTFOUND if there is none.
	Call(id string) (*Call, error)
	// Calls returns every call, by id.
	Calls() ([]*Call, error)
	// Application returns the dossier. Returns ENOTFOUND if there is none.
	Application(id string) (*Application, error)
	// Applications returns the heads of up to q.Limit dossiers matching
	// every filter of q in id order, after q.After, from indexes; next is
	// the cursor of the following page, or "" on the last. A list never
	// reads a dossier's body.
	Applications(q Query) (items []*Summary, next string, err error)
	// History returns the dossier's events, oldest first.
	History(applicationID string) ([]HistoryEvent, error)
	// Tally returns how many of the call's dossiers are in each state and
	// field (only the non-zero counts), kept in step with every write.
	Tally(callID string) ([]Count, error)
	// User returns the account. Returns ENOTFOUND if there is none.
	User(id string) (*User, error)
	// UserByEmail returns the account. Returns ENOTFOUND if there is none.
	UserByEmail(email string) (*User, error)
	// Users returns every account, by id.
	Users() ([]*User, error)
	// UsersWith returns the accounts of the role in the country, and in
	// the city when city is set, by e-mail, disabled ones included. It
	// reads only those accounts, from an index.
	UsersWith(role Role, country, city string) ([]*User, error)
	// Session returns the session by its token hash. Returns ENOTFOUND if
	// there is none.
	Session(tokenHash string) (*Session, error)
	// Assignments returns the evaluators assigned to the dossier.
	Assignments(applicationID string) ([]Assignment, error)
	// Review returns the evaluator's review of the dossier. Returns
	// ENOTFOUND if there is none.
	Review(applicationID, evaluatorID string) (*Review, error)
	// Reviews returns the dossier's reviews, by evaluator id.
	Reviews(applicationID string) ([]Review, error)
	// Conflicts returns the conflicts of interest declared on the dossier.
	Conflicts(applicationID string) ([]Conflict, error)
	// Message returns an outbox message. Returns ENOTFOUND if there is none.
	Message(id string) (*Message, error)
	// PendingMessages returns up to limit pending messages due at now, oldest first.
	PendingMessages(now time.Time, limit int) ([]*Message, error)
	// HeldMessages returns the call's held messages.
	HeldMessages(callID string) ([]*Message, error)
	// Messages returns up to limit messages in the state ("" for all), newest first.
	Messages(state string, limit int) ([]*Message, error)
	// MessageCount returns how many messages are in the state.
	MessageCount(state string) (int, error)
	// DueMessageCount returns how many pending messages are due at now.
	DueMessageCount(now time.Time) (int, error)
	// FileUsed reports whether any dossier names the file with the digest.
	FileUsed(digest string) (bool, error)
	// Audit returns up to limit audit events before the cursor (newest
	// first), and the cursor of the next page.
	Audit(before string, limit int) ([]AuditEvent, string, error)
}

// Tx reads and writes domain records inside one transaction.
type Tx interface {
	ReadTx
	// PutCall stores the call.
	PutCall(c *Call) error
	// PutApplication stores the dossier and keeps every index in step with
	// it; a part (head, body, attachments) unchanged since it was read is
	// not written again.
	PutApplication(a *Application) error
	// PutSummary stores the dossier's head alone, for a move: the body and
	// the attachments stay as stored. It keeps every index in step.
	PutSummary(s *Summary) error
	// AppendHistory appends ev to the dossier's history, setting ev.Seq.
	AppendHistory(applicationID string, ev *HistoryEvent) error
	// PutUser stores the account. Returns ECONFLICT if another account has
	// the e-mail.
	PutUser(u *User) error
	// PutSession stores the session.
	PutSession(s *Session) error
	// DeleteSession removes the session, if there is one.
	DeleteSession(tokenHash string) error
	// DeleteSessionsOf removes every session of the account.
	DeleteSessionsOf(userID string) error
	// PutAssignment stores the assignment and indexes it by evaluator.
	PutAssignment(a Assignment) error
	// PutReview stores the review.
	PutReview(r *Review) error
	// DeleteReview removes the evaluator's review of the dossier, if any.
	DeleteReview(applicationID, evaluatorID string) error
	// PutMessage stores an outbox message and keeps its queues in step.
	PutMessage(m *Message) error
	// PutConflict stores a declared conflict of interest.
	PutConflict(c *Conflict) error
	// DeleteAssignment removes the assignment, if there is one.
	DeleteAssignment(applicationID, evaluatorID string) error
	// AppendAudit stores audit events.
	AppendAudit(events []AuditEvent) error
}

// Query filters dossiers. Empty strings match everything.
type Query struct {
	Call    string
	State   State
	Country string
	Field   string
	City    string
	// CityContains keeps dossiers whose city name contains it, ignoring
	// case and accents ("sao" finds "São Paulo").
	CityContains string
	// LeftDraft keeps only dossiers that were submitted at least once.
	LeftDraft bool
	// Evaluator keeps only dossiers assigned to that evaluator account.
	Evaluator string
	// After is the cursor: the id of the last dossier of the previous page.
	After string
	Limit int
}

// HistoryEvent is one move of a dossier, immutable once written.
type HistoryEvent struct {
	Seq   int       `json:"seq"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Role  Role      `json:"role"`
	Event string    `json:"event"`
	From  State     `json:"from"`
	To    State     `json:"to"`
	Note  string    `json:"note"`
}
