package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"designate/engine"
	"designate/store"
)

// Start is where every test's clock begins.
var Start = time.Date(2027, time.March, 16, 8, 0, 0, 0, time.UTC)

// Password is every test account's password.
const Password = "correct horse battery staple"

// The creative fields and the call every test runs on unless it says otherwise.
const (
	Music      = "Music"
	Film       = "Film"
	Gastronomy = "Gastronomy"
	CallID     = "creative-cities-2027"
)

// Env is the engine over a real bbolt file in a temporary directory, telling
// time by a clock that moves only when the test moves it.
type Env struct {
	Service *engine.Service
	Clock   *engine.ManualClock
	DB      *store.DB
	Path    string

	mu     sync.Mutex
	people map[string]*person
}

// MustOpenService opens a fresh database and the engine over it; the file is
// closed when the test ends.
func MustOpenService(tb testing.TB) *Env {
	tb.Helper()
	e := &Env{
		Clock:  engine.NewManualClock(Start),
		Path:   filepath.Join(tb.TempDir(), "designate.db"),
		people: map[string]*person{},
	}
	e.open(tb)
	tb.Cleanup(func() {
		if err := e.DB.Close(); err != nil {
			tb.Errorf("close database: %v", err)
		}
	})
	return e
}

func (e *Env) open(tb testing.TB) {
	tb.Helper()
	db, err := store.Open(e.Path, store.Options{})
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	svc := engine.NewService(db, e.Clock)
	svc.PasswordCost = bcrypt.MinCost
	e.DB, e.Service = db, svc
}

// Reopen closes the database and opens the same file under a new Service, as
// a restart of the server does. The clock keeps its time.
func (e *Env) Reopen(tb testing.TB) {
	tb.Helper()
	if err := e.DB.Close(); err != nil {
		tb.Fatalf("close database: %v", err)
	}
	e.open(tb)
}

// --- people ---

// Secretariat is the UNESCO secretariat's account.
func (e *Env) Secretariat(tb testing.TB) engine.Actor {
	tb.Helper()
	return engine.ActorOf(e.MustUser(tb, engine.RoleSecretariat, "", ""))
}

// Admin is the administrator's account.
func (e *Env) Admin(tb testing.TB) engine.Actor {
	tb.Helper()
	return engine.ActorOf(e.MustUser(tb, engine.RoleAdmin, "", ""))
}

// Commission is the National Commission for UNESCO of country.
func (e *Env) Commission(tb testing.TB, country string) engine.Actor {
	tb.Helper()
	return engine.ActorOf(e.MustUser(tb, engine.RoleCommission, country, ""))
}

// City is the applicant account of a city.
func (e *Env) City(tb testing.TB, city, country string) engine.Actor {
	tb.Helper()
	return engine.ActorOf(e.MustUser(tb, engine.RoleApplicant, country, city))
}

// MustUser returns the account with that role, country and city, making it
// on first use.
func (e *Env) MustUser(tb testing.TB, role engine.Role, country, city string) *engine.User {
	tb.Helper()
	u, err := e.user(role, country, city)
	if err != nil {
		tb.Fatalf("create %s account (%s %s): %v", role, city, country, err)
	}
	return u
}

// MustAccounts makes the accounts (role, country and city of each) several
// at a time, since hashing passwords is the slow part of a test that needs
// many.
func (e *Env) MustAccounts(tb testing.TB, ins []engine.NewUser) []engine.Actor {
	tb.Helper()
	actors := make([]engine.Actor, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := e.user(in.Role, in.Country, in.City)
			if err == nil {
				actors[i] = engine.ActorOf(u)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			tb.Fatalf("create %s account (%s %s): %v", ins[i].Role, ins[i].City, ins[i].Country, err)
		}
	}
	return actors
}

// person is an account made at most once, whoever asks for it first.
type person struct {
	email string
	once  sync.Once
	u     *engine.User
	err   error
}

func (e *Env) user(role engine.Role, country, city string) (*engine.User, error) {
	key := string(role) + "|" + country + "|" + city
	e.mu.Lock()
	p := e.people[key]
	if p == nil {
		p = &person{email: fmt.Sprintf("%s.%d@example.org", role, len(e.people)+1)}
		e.people[key] = p
	}
	e.mu.Unlock()
	p.once.Do(func() {
		p.u, p.err = e.Service.CreateUser(context.Background(), engine.System, engine.NewUser{
			Email: p.email, Password: Password, Role: role, Country: country, City: city,
		})
	})
	return p.u, p.err
}

// --- calls ---

// NewCall is a valid call whose instants follow now: open since an hour,
// submission deadline in 10 days with 30 minutes' grace, endorsements until
// day 20, evaluation until day 40, announcement on day 60.
func NewCall(id string, now time.Time) engine.Call {
	day := 24 * time.Hour
	return engine.Call{
		ID:                  id,
		Title:               "Creative Cities Network: call for applications 2027",
		TimeZone:            "Europe/Paris",
		Fields:              []string{Music, Film, Gastronomy},
		Languages:           []string{"en", "fr"},
		OpensAt:             now.Add(-time.Hour),
		SubmissionDeadline:  now.Add(10 * day),
		Grace:               engine.Duration(30 * time.Minute),
		EndorsementDeadline: now.Add(20 * day),
		EvaluationDeadline:  now.Add(40 * day),
		AnnouncementAt:      now.Add(60 * day),
		MaxPerCountry:       2,
		DistinctFields:      true,
		Sections: []engine.Section{
			{ID: "vision", Title: engine.Localized{EN: "Vision", FR: "Vision"}, WordLimit: 5, Required: true},
			{ID: "action-plan", Title: engine.Localized{EN: "Action plan", FR: "Plan d'action"}, WordLimit: 50, Required: true},
			{ID: "partners", Title: engine.Localized{EN: "Partners", FR: "Partenaires"}, WordLimit: 20},
		},
	}
}

// MustCreateCall creates the call as the secretariat.
func (e *Env) MustCreateCall(tb testing.TB, c engine.Call) *engine.Call {
	tb.Helper()
	call, err := e.Service.CreateCall(context.Background(), e.Secretariat(tb), c)
	if err != nil {
		tb.Fatalf("create call %s: %v (%v)", c.ID, err, engine.ErrorFields(err))
	}
	return call
}

// MustOpenCall creates the standard call, open now.
func (e *Env) MustOpenCall(tb testing.TB) *engine.Call {
	tb.Helper()
	call := e.MustCreateCall(tb, NewCall(CallID, e.Clock.Now()))
	if call.State != engine.CallOpen {
		tb.Fatalf("call %s is %s, want open", call.ID, call.State)
	}
	return call
}

// MustCall reads the call.
func (e *Env) MustCall(tb testing.TB, id string) *engine.Call {
	tb.Helper()
	call, err := e.Service.Call(context.Background(), id)
	if err != nil {
		tb.Fatalf("read call %s: %v", id, err)
	}
	return call
}

// --- dossiers ---

// CompleteDraft is the content of a dossier that may be submitted.
func CompleteDraft(version int) engine.DraftEdit {
	return engine.DraftEdit{
		Version: version,
		Contacts: engine.Contacts{
			Mayor:          engine.Contact{Name: "Marie Laurent", Email: "mayor@city.example", Phone: "+33 4 97 06 40 00"},
			Representative: engine.Contact{Name: "Jean Dupuis", Email: "culture@city.example", Phone: "+33 4 97 06 40 01"},
			Main:           engine.Contact{Name: "Aïcha Benali", Email: "creative@city.example", Phone: "(04) 97-06-40-02"},
		},
		Sections: map[string]string{
			"vision":      "Cinema for every citizen",
			"action-plan": "A film school, an open-air festival and a residency for young directors.",
		},
	}
}

// MustDraft starts the city's dossier in the field and fills it completely.
func (e *Env) MustDraft(tb testing.TB, callID string, city engine.Actor, field string) *engine.Application {
	tb.Helper()
	ctx := context.Background()
	app, err := e.Service.CreateApplication(ctx, city, engine.NewApplication{
		Call: callID, City: city.City, Country: city.Country, Field: field, Language: "en",
	})
	if err != nil {
		tb.Fatalf("%s starts a dossier in %s: %v (%v)", city.City, callID, err, engine.ErrorFields(err))
	}
	return e.MustSaveAs(tb, city, app.ID, CompleteDraft(app.Version))
}

// MustSaveAs saves the draft as the actor.
func (e *Env) MustSaveAs(tb testing.TB, actor engine.Actor, id string, edit engine.DraftEdit) *engine.Application {
	tb.Helper()
	app, err := e.Service.SaveApplication(context.Background(), actor, id, edit)
	if err != nil {
		tb.Fatalf("save %s: %v (%v)", id, err, engine.ErrorFields(err))
	}
	return app
}

// MustMove fires event on the dossier as actor and fails the test if it is refused.
func (e *Env) MustMove(tb testing.TB, actor engine.Actor, id, event, note string) *engine.Application {
	tb.Helper()
	app, err := e.Service.Transition(context.Background(), actor, id, engine.Move{Event: event, Note: note})
	if err != nil {
		tb.Fatalf("%s (%s) fires %s on %s: %v", actor.Email, actor.Role, event, id, err)
	}
	return app
}

// MustGet reads the dossier as the system, which sees every dossier.
func (e *Env) MustGet(tb testing.TB, id string) *engine.Application {
	tb.Helper()
	app, err := e.Service.Application(context.Background(), engine.System, id)
	if err != nil {
		tb.Fatalf("read dossier %s: %v", id, err)
	}
	return app
}

// MustHistory reads the dossier's history as the system.
func (e *Env) MustHistory(tb testing.TB, id string) []engine.HistoryEvent {
	tb.Helper()
	events, err := e.Service.History(context.Background(), engine.System, id)
	if err != nil {
		tb.Fatalf("read history of %s: %v", id, err)
	}
	return events
}

// road says how a dossier reaches each state: from which state, by which
// event and party, with the clock moved on first when the move needs it.
var road = map[engine.State]struct {
	from  engine.State
	event string
	by    By
	note  string
	at    Moment
}{
	engine.Submitted:       {engine.Draft, engine.EventSubmit, AsCity, "", nil},
	engine.Endorsed:        {engine.Submitted, engine.EventEndorse, AsCommission, "", nil},
	engine.NotEndorsed:     {engine.Submitted, engine.EventDecline, AsCommission, "The field is covered by another city.", nil},
	engine.Eligible:        {engine.Endorsed, engine.EventAccept, AsSecretariat, "", AfterClose},
	engine.Ineligible:      {engine.Endorsed, engine.EventReject, AsSecretariat, "The support letters are missing.", AfterClose},
	engine.UnderEvaluation: {engine.Eligible, engine.EventStartEval, AsSecretariat, "", nil},
	engine.Recommended:     {engine.UnderEvaluation, engine.EventRecommend, AsSecretariat, "", nil},
	engine.NotRecommended:  {engine.UnderEvaluation, engine.EventNotRecommend, AsSecretariat, "", nil},
	engine.Designated:      {engine.Recommended, engine.EventDesignate, AsSystem, "", AtAnnouncementUnswept},
	engine.NotDesignated:   {engine.NotRecommended, engine.EventNotDesignate, AsSystem, "", AtAnnouncementUnswept},
	engine.Withdrawn:       {engine.Draft, engine.EventWithdraw, AsCity, "", nil},
	engine.Lapsed:          {engine.Draft, engine.EventLapse, AsSystem, "", PastCloseUnswept},
}

// MustReach brings a new dossier of the city in the field to the state, by
// the moves a real dossier makes, moving the clock on where a move needs it.
func (e *Env) MustReach(tb testing.TB, call *engine.Call, city engine.Actor, field string, want engine.State) *engine.Application {
	tb.Helper()
	return e.MustMoveOn(tb, call, e.MustDraft(tb, call.ID, city, field), want)
}

// MustMoveOn moves the dossier on from where it is to the state along road.
// No dossier can be started after the close, so a test that needs several
// past it brings them all to endorsed first, then moves each on.
func (e *Env) MustMoveOn(tb testing.TB, call *engine.Call, app *engine.Application, want engine.State) *engine.Application {
	tb.Helper()
	if app.State == want {
		return app
	}
	step, ok := road[want]
	if !ok {
		tb.Fatalf("no road from %s to %s", app.State, want)
	}
	app = e.MustMoveOn(tb, call, app, step.from)
	if step.at != nil {
		step.at(tb, e, call)
	}
	app = e.MustMove(tb, step.by(tb, e, app), app.ID, step.event, step.note)
	if app.State != want {
		tb.Fatalf("dossier %s is %s, want %s", app.ID, app.State, want)
	}
	return app
}

// --- time ---

// Moment moves the clock on to an instant of the call's life, unless it is
// there already, and may let the scheduler act on it.
type Moment func(tb testing.TB, e *Env, call *engine.Call)

// MoveClockTo moves the clock forward to t; a test that would move it back is
// wrongly built.
func (e *Env) MoveClockTo(tb testing.TB, t time.Time) {
	tb.Helper()
	if now := e.Clock.Now(); t.Before(now) {
		tb.Fatalf("the clock cannot go back from %s to %s", now, t)
	}
	e.Clock.Set(t)
}

// MustAdvance lets the scheduler make every move that is due.
func (e *Env) MustAdvance(tb testing.TB) {
	tb.Helper()
	if err := e.Service.Advance(context.Background()); err != nil {
		tb.Fatalf("advance at %s: %v", e.Clock.Now(), err)
	}
}

// WithinGrace is after the submission deadline but before its grace ends; the
// scheduler has acted.
func WithinGrace(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.SubmissionDeadline.Add(time.Duration(call.Grace)/2))
	e.MustAdvance(tb)
}

// AtCloseUnswept is the enforced close itself (deadline plus grace), before
// the scheduler has acted on it.
func AtCloseUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.Close())
}

// PastCloseUnswept is a second after the deadline plus grace, before the
// scheduler has acted on it.
func PastCloseUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.Close().Add(time.Second))
}

// ClosedUnswept is a second after the close when the call has been closed
// but its sweep has not yet reached the drafts: the window between the two
// transactions of the scheduler, made here by writing the call's move alone.
func ClosedUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	PastCloseUnswept(tb, e, call)
	err := e.DB.Update(context.Background(), func(tx engine.Tx) error {
		c, err := tx.Call(call.ID)
		if err != nil {
			return err
		}
		c.State, c.Version = engine.CallClosed, c.Version+1
		return tx.PutCall(c)
	})
	if err != nil {
		tb.Fatalf("close call %s: %v", call.ID, err)
	}
}

// AfterClose is a minute after the close, the scheduler having acted.
func AfterClose(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.Close().Add(time.Minute))
	e.MustAdvance(tb)
}

// AtEndorsementDeadlineUnswept is the endorsement deadline itself, before
// the scheduler has acted on it.
func AtEndorsementDeadlineUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.EndorsementDeadline)
}

// PastEndorsementUnswept is a second after the endorsement deadline, before
// the scheduler has acted on it.
func PastEndorsementUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.EndorsementDeadline.Add(time.Second))
}

// AtAnnouncementUnswept is the announcement instant, before the scheduler
// has acted on it.
func AtAnnouncementUnswept(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.AnnouncementAt)
}

// AfterAnnouncement is a minute after the announcement, the scheduler having
// announced the results.
func AfterAnnouncement(tb testing.TB, e *Env, call *engine.Call) {
	tb.Helper()
	e.moveForward(tb, call.AnnouncementAt.Add(time.Minute))
	e.MustAdvance(tb)
}

// moveForward moves the clock to t unless it is there or later already.
func (e *Env) moveForward(tb testing.TB, t time.Time) {
	tb.Helper()
	if e.Clock.Now().Before(t) {
		e.MoveClockTo(tb, t)
	}
}

// --- parties ---

// By picks who fires an event on a dossier.
type By func(tb testing.TB, e *Env, app *engine.Application) engine.Actor

// AsCity is the dossier's own city.
func AsCity(tb testing.TB, e *Env, app *engine.Application) engine.Actor {
	tb.Helper()
	return e.City(tb, app.City, app.Country)
}

// AsOtherCity is another French city than the dossier's.
func AsOtherCity(tb testing.TB, e *Env, app *engine.Application) engine.Actor {
	tb.Helper()
	if app.City == "Rouen" {
		return e.City(tb, "Cannes", "FR")
	}
	return e.City(tb, "Rouen", "FR")
}

// AsCommission is the National Commission of the dossier's country.
func AsCommission(tb testing.TB, e *Env, app *engine.Application) engine.Actor {
	tb.Helper()
	return e.Commission(tb, app.Country)
}

// AsOtherCommission is the National Commission of another country.
func AsOtherCommission(tb testing.TB, e *Env, app *engine.Application) engine.Actor {
	tb.Helper()
	if app.Country == "PT" {
		return e.Commission(tb, "ES")
	}
	return e.Commission(tb, "PT")
}

// AsSecretariat is the secretariat.
func AsSecretariat(tb testing.TB, e *Env, _ *engine.Application) engine.Actor {
	tb.Helper()
	return e.Secretariat(tb)
}

// AsSystem is the engine acting when an instant passes.
func AsSystem(testing.TB, *Env, *engine.Application) engine.Actor { return engine.System }

// AsPublic is nobody signed in.
func AsPublic(testing.TB, *Env, *engine.Application) engine.Actor { return engine.Actor{} }

// --- assertions ---

// AssertCode fails unless err is a refusal with the code.
func AssertCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := engine.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// AssertFields fails unless err names exactly these fields, each with a message.
func AssertFields(tb testing.TB, err error, want ...string) {
	tb.Helper()
	fields := engine.ErrorFields(err)
	got := make([]string, 0, len(fields))
	for k, msg := range fields {
		got = append(got, k)
		if strings.TrimSpace(msg) == "" {
			tb.Errorf("field %q has no message", k)
		}
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		tb.Fatalf("fields = %v (%v), want %v", got, fields, want)
	}
}

// AssertUnchanged fails unless the stored dossier still has the state and
// version it had.
func (e *Env) AssertUnchanged(tb testing.TB, before *engine.Application) {
	tb.Helper()
	now := e.MustGet(tb, before.ID)
	if now.State != before.State || now.Version != before.Version {
		tb.Fatalf("dossier %s is %s v%d, want it unchanged at %s v%d", before.ID, now.State, now.Version, before.State, before.Version)
	}
}
