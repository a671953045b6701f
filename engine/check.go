package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The integrity check (`designate check`): everything the data must satisfy,
// verified against the data itself, with the server stopped. The store
// verifies what it derives from its records (indexes, counts, queues,
// references between records) when it implements IntegrityChecker; the
// engine verifies its own rules: each dossier agrees with its history and
// its call, and every country is within its quota.

// Problem is one thing the integrity check found wrong: where (a dossier, a
// record, a bucket and key) and what.
type Problem struct {
	Where string `json:"where"`
	What  string `json:"what"`
}

// String is the problem as one line of the check's report.
func (p Problem) String() string { return p.Where + ": " + p.What }

// Checked is how many things of one kind a check looked at.
type Checked struct {
	What string `json:"what"`
	N    int    `json:"n"`
}

// IntegrityChecker is a Store that can verify what it derives from its
// records against the records, both ways.
type IntegrityChecker interface {
	// CheckIntegrity calls problem for each disagreement it finds in one
	// consistent snapshot, and returns what it looked at. An error means the
	// check could not go on, not that the data is wrong.
	CheckIntegrity(ctx context.Context, problem func(Problem)) ([]Checked, error)
}

// MaxReportedProblems bounds the problems a report keeps: badly damaged
// data could have one per index entry, and the check must run in bounded
// memory. The total is still counted.
const MaxReportedProblems = 10000

// DataReport is what CheckData found.
type DataReport struct {
	// Problems are sorted by their text; at most MaxReportedProblems.
	Problems []Problem `json:"problems"`
	// Total counts every problem found, kept or not.
	Total int `json:"total"`
	// Checked says what was looked at.
	Checked []Checked `json:"checked"`
}

func (r *DataReport) add(p Problem) {
	r.Total++
	if len(r.Problems) < MaxReportedProblems {
		r.Problems = append(r.Problems, p)
	}
}

// checkPageSize is how many dossiers one read transaction of the check
// holds: a transaction remembers what it read, so a single one over every
// dossier would grow with the database.
const checkPageSize = MaxPageSize

// CheckData verifies every invariant of the stored data: the store's own
// (when it implements IntegrityChecker), each dossier against its history
// and its call, the country quotas, and, when the service has Files, every
// file a dossier names (whole, with its size and SHA-256) and the kept files
// no dossier names. It must run with nothing writing (the server stopped):
// it reads the dossiers a page per transaction. An error means the check
// could not run; what is wrong with the data is in the report.
func (s *Service) CheckData(ctx context.Context) (*DataReport, error) {
	r := &DataReport{Problems: []Problem{}}
	var calls map[string]*Call
	err := s.store.View(ctx, func(tx ReadTx) error {
		list, err := tx.Calls()
		calls = make(map[string]*Call, len(list))
		for _, c := range list {
			calls[c.ID] = c
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("check: read the calls: %w", err)
	}
	dossiers, events, files := 0, 0, 0
	quotas := quotaUses{}
	q := Query{Limit: checkPageSize}
	for {
		var next string
		err := s.store.View(ctx, func(tx ReadTx) error {
			page, after, err := tx.Applications(q)
			if err != nil {
				return err
			}
			next = after
			for _, head := range page {
				app, err := tx.Application(head.ID)
				if err != nil {
					return err
				}
				history, err := tx.History(app.ID)
				if err != nil {
					return err
				}
				dossiers, events = dossiers+1, events+len(history)
				for _, p := range checkDossier(app, calls[app.Call], history) {
					r.add(p)
				}
				if containsState(endorsedStates, app.State) {
					quotas.use(app)
				}
				if s.Files != nil {
					for _, at := range app.Attachments {
						files++
						if msg := s.verifyFile(at); msg != "" {
							r.add(Problem{Where: fmt.Sprintf("file %s of dossier %s", at.SHA256, app.ID), What: msg})
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			// A record that cannot be read stops the walk; the store's
			// check names it, and what was found so far still counts.
			where := "dossiers"
			if q.After != "" {
				where = "dossiers after " + q.After
			}
			r.add(Problem{Where: where, What: "the check could not read on: " + err.Error()})
			break
		}
		if next == "" {
			break
		}
		q.After = next
	}
	for k, u := range quotas {
		for _, p := range u.problems(k, calls[k.call]) {
			r.add(p)
		}
	}
	r.Checked = append(r.Checked, Checked{"dossiers", dossiers}, Checked{"history events", events}, Checked{"calls", len(calls)})
	if s.Files != nil {
		orphans, err := s.orphanFiles(ctx)
		if err != nil {
			return nil, fmt.Errorf("check: walk the files: %w", err)
		}
		for _, d := range orphans {
			r.add(Problem{Where: "file " + d, What: "orphan: no dossier names this file (a sweep at start-up removes it)"})
		}
		r.Checked = append(r.Checked, Checked{"files named by dossiers (each read whole)", files})
	}
	if ic, ok := s.store.(IntegrityChecker); ok {
		checked, err := ic.CheckIntegrity(ctx, r.add)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		r.Checked = append(r.Checked, checked...)
	}
	sort.Slice(r.Problems, func(i, j int) bool { return r.Problems[i].String() < r.Problems[j].String() })
	return r, nil
}

// checkDossier returns what is wrong with one dossier against its call (nil
// when there is no such call) and its history, oldest first.
//
// The version is the dossier's save counter (the If-Match of every write):
// its creation writes version 1 with the creation event, and every later
// write (a save of the draft, a file added, replaced or removed, a move)
// raises it by one, a move also adding one history event. So the version is
// never below the number of history events. HiddenMoves counts the moves the
// results embargo hides, so it equals the number of recommend and
// not_recommend events.
func checkDossier(app *Application, call *Call, history []HistoryEvent) []Problem {
	var out []Problem
	bad := func(format string, args ...any) {
		out = append(out, Problem{Where: "dossier " + app.ID, What: fmt.Sprintf(format, args...)})
	}
	if call == nil {
		bad("its call %q does not exist", app.Call)
	} else if !call.HasField(app.Field) {
		bad("its field %q is not one of the call's fields (%s)", app.Field, strings.Join(call.Fields, ", "))
	}
	if !ValidState(app.State) {
		bad("its state %q is not a state of the lifecycle", app.State)
	}
	if app.Version < 1 {
		bad("its version is %d: a dossier starts at version 1", app.Version)
	}
	if len(history) == 0 {
		bad("it has no history: even its creation is not recorded")
		return out
	}
	var lastSubmit *HistoryEvent
	submitted, hidden := false, 0
	seqOK, timeOK := true, true
	for i := range history {
		ev := &history[i]
		if seqOK && ev.Seq != i+1 {
			seqOK = false
			switch {
			case i == 0:
				bad("its history starts at event %d, not 1", ev.Seq)
			case ev.Seq > history[i-1].Seq+1:
				bad("its history jumps from event %d to event %d: %s missing", history[i-1].Seq, ev.Seq, eventRange(history[i-1].Seq+1, ev.Seq-1))
			default:
				bad("its history has event %d after event %d", ev.Seq, history[i-1].Seq)
			}
		}
		if i == 0 {
			if ev.Event != eventCreate || ev.From != "" || ev.To != Draft {
				bad("its first history event is %s (%q to %q), not its creation as a draft", ev.Event, ev.From, ev.To)
			}
		} else {
			prev := &history[i-1]
			if timeOK && ev.At.Before(prev.At) {
				timeOK = false
				bad("history event %d (%s) is dated before event %d (%s)", ev.Seq, ev.At.UTC().Format(timeFormat), prev.Seq, prev.At.UTC().Format(timeFormat))
			}
			if t := transitionFor(ev.Event, ev.From); ev.From != prev.To {
				bad("history event %d (%s) leaves %s, but event %d had left it %s", ev.Seq, ev.Event, ev.From, prev.Seq, prev.To)
			} else if t == nil || t.To != ev.To {
				bad("history event %d (%s from %s to %s) is not a move of the lifecycle", ev.Seq, ev.Event, ev.From, ev.To)
			}
		}
		switch ev.Event {
		case EventSubmit:
			lastSubmit, submitted = ev, true
		case EventRetract:
			submitted = false
		}
		if contains(embargoedEvents, ev.Event) {
			hidden++
		}
	}
	first, last := history[0], history[len(history)-1]
	if app.State != last.To {
		bad("its state is %s, but its last history event (%d, %s) left it %s", app.State, last.Seq, last.Event, last.To)
	}
	if app.Version < len(history) {
		bad("its version %d is below its %d history events (its creation and each move raised it by one)", app.Version, len(history))
	}
	if app.HiddenMoves != hidden {
		bad("it counts %d moves hidden by the results embargo; its history has %d", app.HiddenMoves, hidden)
	}
	if !app.CreatedAt.Equal(first.At) {
		bad("created_at %s is not the time of its creation event (%s)", app.CreatedAt.UTC().Format(timeFormat), first.At.UTC().Format(timeFormat))
	}
	if app.UpdatedAt.Before(last.At) {
		bad("updated_at %s is before its last history event (%d, %s)", app.UpdatedAt.UTC().Format(timeFormat), last.Seq, last.At.UTC().Format(timeFormat))
	}
	switch {
	case lastSubmit == nil && app.SubmittedAt != nil:
		bad("it records a submission (%s) but its history has none", app.SubmittedAt.UTC().Format(timeFormat))
	case lastSubmit != nil && app.SubmittedAt == nil:
		bad("its history has a submission (event %d) but it records none", lastSubmit.Seq)
	case lastSubmit != nil && !app.SubmittedAt.Equal(lastSubmit.At):
		bad("submitted_at %s is not the time of its last submission (event %d, %s)", app.SubmittedAt.UTC().Format(timeFormat), lastSubmit.Seq, lastSubmit.At.UTC().Format(timeFormat))
	}
	// The receipt covers what was submitted, which no longer changes until
	// a retraction clears it.
	if submitted && app.SubmissionDigest != SubmissionDigest(app) {
		bad("its submission digest %q does not match its content (%s)", app.SubmissionDigest, SubmissionDigest(app))
	} else if !submitted && app.SubmissionDigest != "" {
		bad("it holds a submission digest but is not submitted (never, or retracted since)")
	}
	return out
}

// timeFormat writes instants in the check's report.
const timeFormat = "2006-01-02T15:04:05.000Z"

func eventRange(from, to int) string {
	if from == to {
		return fmt.Sprintf("event %d is", from)
	}
	return fmt.Sprintf("events %d to %d are", from, to)
}

// quotaKey is one country in one call.
type quotaKey struct{ call, country string }

// quotaUses is what each country holds in each call: its dossiers in an
// endorsed (or later) state, in all and by field. Calls, countries and
// fields are few, so it stays small however many dossiers there are.
type quotaUses map[quotaKey]*quotaUse

type quotaUse struct {
	all     idCount
	byField map[string]*idCount
}

// idCount counts dossiers and keeps the first few ids, for the report.
type idCount struct {
	n   int
	ids []string
}

// maxQuotaIDs bounds the ids a quota problem names.
const maxQuotaIDs = 10

func (c *idCount) add(id string) {
	c.n++
	if len(c.ids) < maxQuotaIDs {
		c.ids = append(c.ids, id)
	}
}

func (c *idCount) String() string {
	s := strings.Join(c.ids, ", ")
	if c.n > len(c.ids) {
		s += fmt.Sprintf(" and %d more", c.n-len(c.ids))
	}
	return s
}

func (m quotaUses) use(app *Application) {
	k := quotaKey{app.Call, app.Country}
	u := m[k]
	if u == nil {
		u = &quotaUse{byField: map[string]*idCount{}}
		m[k] = u
	}
	u.all.add(app.ID)
	f := u.byField[app.Field]
	if f == nil {
		f = &idCount{}
		u.byField[app.Field] = f
	}
	f.add(app.ID)
}

// problems holds the country to the call's max_per_country and, when the
// call has distinct_fields, to one dossier per field: the rule checkQuota
// applies at each endorsement.
func (u *quotaUse) problems(k quotaKey, call *Call) []Problem {
	if call == nil {
		return nil // each of its dossiers is reported already
	}
	where := fmt.Sprintf("call %s country %s", k.call, k.country)
	var out []Problem
	if u.all.n > call.MaxPerCountry {
		out = append(out, Problem{Where: where, What: fmt.Sprintf("%d dossiers hold an endorsement (%s); the call allows %d",
			u.all.n, &u.all, call.MaxPerCountry)})
	}
	if call.DistinctFields {
		for f, c := range u.byField {
			if c.n > 1 {
				out = append(out, Problem{Where: where, What: fmt.Sprintf("%d endorsed dossiers in %s (%s); the call requires different fields", c.n, f, c)})
			}
		}
	}
	return out
}
