package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"designate/engine"
)

// The access matrix: who may do what to which dossier, written down once,
// here, and tested whole against the real server. Each row is one endpoint
// (and, for transitions, one event) on one target; each column is one
// actor. Adding a route to web/server.go without a row here fails
// TestAccessMatrix_CoversEveryRoute.
//
// The rules the cells follow:
//   - an applicant sees only its own city's dossiers, drafts included; nobody
//     else ever sees a draft;
//   - a commission sees its country's dossiers once submitted, and may endorse
//     or decline only those;
//   - an evaluator sees only the dossiers assigned to it, read only (dossier
//     and history); any move it tries is refused;
//   - the secretariat sees every submitted dossier, never a draft, and fires
//     the secretariat's events; the admin is the secretariat, plus accounts
//     and the audit log;
//   - the public sees nothing but calls and announced results.
//
// Refusals: 401 for the public on a protected endpoint, 404 where the caller
// may not know the thing exists, 403 where it may. Every refused write is
// followed by a read-back of its target, which must be byte-for-byte what it
// was. Every allowed write gets a target of its own, so that it changes no
// other cell's target.

// mxActor is a column of the matrix.
type mxActor int

const (
	mxAnonymous    mxActor = iota
	mxCannes               // applicant of the dossier's own city (Cannes, FR)
	mxRouen                // applicant of another city of the same country (Rouen, FR)
	mxCovilha              // applicant of another country (Covilhã, PT)
	mxCommissionFR         // the commission of the dossier's country
	mxCommissionPT         // the commission of another country
	mxEvaluatorPT          // evaluator (PT, expert) assigned to the dossier under evaluation
	mxEvaluatorCN          // evaluator (CN) assigned to nothing
	mxSecretariat
	mxAdmin
	mxActors // how many
)

var mxActorNames = [mxActors]string{
	"anonymous", "applicant Cannes (own city)", "applicant Rouen (same country)", "applicant Covilhã (other country)",
	"commission FR (own country)", "commission PT (other country)", "evaluator PT (assigned)", "evaluator CN (not assigned)",
	"secretariat", "admin",
}

// mxTarget is what a row acts on.
type mxTarget int

const (
	mxNone          mxTarget = iota // nothing in particular (lists, accounts, a new call)
	mxDraft                         // a draft of Cannes, never submitted
	mxSubmitted                     // Cannes's dossier, submitted
	mxUnderEval                     // Cannes's dossier under evaluation, the PT evaluator assigned
	mxOpenCall                      // an open call in which Cannes has no dossier
	mxAnnouncedCall                 // a call whose results are announced
	mxAccount                       // an account nobody signs in with
	mxMessage                       // Cannes's receipt in the outbox, pending (the matrix delivers no e-mail)
)

var mxTargetNames = map[mxTarget]string{
	mxNone: "-", mxDraft: "draft", mxSubmitted: "submitted", mxUnderEval: "under_evaluation",
	mxOpenCall: "open call", mxAnnouncedCall: "announced call", mxAccount: "account", mxMessage: "message",
}

// mxWant is what a cell expects: a status (and error code), or, for the
// dossier list, whether the target is in the caller's list.
type mxWant string

const (
	wOK  mxWant = "200"
	w201 mxWant = "201"
	w204 mxWant = "204"
	w401 mxWant = "401 unauthorized"
	w403 mxWant = "403 forbidden"
	w404 mxWant = "404 not_found"
	w409 mxWant = "409 invalid_transition"
	wIn  mxWant = "listed"
	wOut mxWant = "not listed"
)

// allowed reports whether the cell expects the request to succeed.
func (w mxWant) allowed() bool { return w == wIn || w == wOut || strings.HasPrefix(string(w), "2") }

// status and code are what a refusal or success must answer.
func (w mxWant) status() int {
	if w == wIn || w == wOut {
		return 200
	}
	n, _ := strconv.Atoi(string(w)[:3])
	return n
}

func (w mxWant) code() string {
	if w == wIn || w == wOut {
		return ""
	}
	_, code, _ := strings.Cut(string(w), " ")
	return code
}

type mxCells [mxActors]mxWant

// mxRow is one row of the matrix: Route is the method and the path template
// exactly as web/server.go registers it.
type mxRow struct {
	Route  string
	Event  string
	Target mxTarget
	Want   mxCells
}

// accessMatrix is the specification.
var accessMatrix = []mxRow{
	//                                                                        anon  Cannes Rouen Covilhã comFR comPT evPT  evCN  secr  admin
	// Public and one's own session.
	{"GET /healthz", "", mxNone, mxCells{wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK}},
	{"POST /api/v1/login", "", mxNone, mxCells{w401, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK}},
	{"POST /api/v1/logout", "", mxNone, mxCells{w401, w204, w204, w204, w204, w204, w204, w204, w204, w204}},
	{"GET /api/v1/me", "", mxNone, mxCells{w401, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK}},
	{"POST /api/v1/me/password", "", mxNone, mxCells{w401, w204, w204, w204, w204, w204, w204, w204, w204, w204}},
	{"GET /api/v1/me/assignments", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, wOK, wOK, w403, w403}},

	// Calls: public to read, the secretariat's to configure and move.
	{"GET /api/v1/calls", "", mxNone, mxCells{wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK}},
	{"POST /api/v1/calls", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w201, w201}},
	{"GET /api/v1/calls/{call}", "", mxOpenCall, mxCells{wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK, wOK}},
	{"PUT /api/v1/calls/{call}", "", mxOpenCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"POST /api/v1/calls/{call}/transitions", "archive", mxAnnouncedCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	// Before the announcement the results do not exist, for anybody.
	{"GET /api/v1/calls/{call}/results", "", mxDraft, mxCells{w404, w404, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"GET /api/v1/calls/{call}/results", "", mxSubmitted, mxCells{w404, w404, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"GET /api/v1/calls/{call}/results", "", mxUnderEval, mxCells{w404, w404, w404, w404, w404, w404, w404, w404, w404, w404}},
	// Only a city starts its own dossier.
	{"POST /api/v1/calls/{call}/applications", "", mxOpenCall, mxCells{w401, w201, w403, w403, w403, w403, w403, w403, w403, w403}},

	// A draft: Cannes's business only.
	{"GET /api/v1/applications/{id}", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"GET /api/v1/applications/{id}/history", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"PUT /api/v1/applications/{id}", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"POST /api/v1/applications/{id}/transitions", "submit", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"POST /api/v1/applications/{id}/transitions", "endorse", mxDraft, mxCells{w401, w403, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"POST /api/v1/applications/{id}/transitions", "recommend", mxDraft, mxCells{w401, w403, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"POST /api/v1/applications/{id}/transitions", "withdraw", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"GET /api/v1/applications", "", mxDraft, mxCells{w401, wIn, wOut, wOut, wOut, wOut, wOut, wOut, wOut, wOut}},
	{"GET /api/v1/applications/{id}/assignments", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	{"POST /api/v1/applications/{id}/assignments", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	{"DELETE /api/v1/applications/{id}/assignments/{evaluator}", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	{"GET /api/v1/applications/{id}/candidates", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	// A draft's files: the city's alone, to read and to change.
	{"GET /api/v1/applications/{id}/attachments", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"GET /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"POST /api/v1/applications/{id}/attachments/{slot}", "", mxDraft, mxCells{w401, w201, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"PUT /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},
	{"DELETE /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxDraft, mxCells{w401, wOK, w404, w404, w404, w404, w404, w404, w404, w404}},

	// A submitted dossier: the city, its commission, the secretariat.
	{"GET /api/v1/applications/{id}", "", mxSubmitted, mxCells{w401, wOK, w404, w404, wOK, w404, w404, w404, wOK, wOK}},
	{"GET /api/v1/applications/{id}/history", "", mxSubmitted, mxCells{w401, wOK, w404, w404, wOK, w404, w404, w404, wOK, wOK}},
	{"PUT /api/v1/applications/{id}", "", mxSubmitted, mxCells{w401, w409, w404, w404, w403, w404, w404, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "submit", mxSubmitted, mxCells{w401, w409, w404, w404, w403, w404, w404, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "endorse", mxSubmitted, mxCells{w401, w403, w404, w404, wOK, w404, w404, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "recommend", mxSubmitted, mxCells{w401, w403, w404, w404, w403, w404, w404, w404, w409, w409}},
	{"POST /api/v1/applications/{id}/transitions", "withdraw", mxSubmitted, mxCells{w401, wOK, w404, w404, w403, w404, w404, w404, w403, w403}},
	{"GET /api/v1/applications", "", mxSubmitted, mxCells{w401, wIn, wOut, wOut, wIn, wOut, wOut, wOut, wIn, wIn}},
	{"GET /api/v1/applications/{id}/assignments", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"POST /api/v1/applications/{id}/assignments", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w409, w409}},
	{"DELETE /api/v1/applications/{id}/assignments/{evaluator}", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	{"GET /api/v1/applications/{id}/candidates", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	// Its files: read by whoever reads it, frozen for the city (409),
	// refused to the others who see it (403).
	{"GET /api/v1/applications/{id}/attachments", "", mxSubmitted, mxCells{w401, wOK, w404, w404, wOK, w404, w404, w404, wOK, wOK}},
	{"GET /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxSubmitted, mxCells{w401, wOK, w404, w404, wOK, w404, w404, w404, wOK, wOK}},
	{"POST /api/v1/applications/{id}/attachments/{slot}", "", mxSubmitted, mxCells{w401, w409, w404, w404, w403, w404, w404, w404, w403, w403}},
	{"PUT /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxSubmitted, mxCells{w401, w409, w404, w404, w403, w404, w404, w404, w403, w403}},
	{"DELETE /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxSubmitted, mxCells{w401, w409, w404, w404, w403, w404, w404, w404, w403, w403}},

	// Under evaluation: the assigned evaluator reads it too.
	{"GET /api/v1/applications/{id}", "", mxUnderEval, mxCells{w401, wOK, w404, w404, wOK, w404, wOK, w404, wOK, wOK}},
	{"GET /api/v1/applications/{id}/history", "", mxUnderEval, mxCells{w401, wOK, w404, w404, wOK, w404, wOK, w404, wOK, wOK}},
	{"PUT /api/v1/applications/{id}", "", mxUnderEval, mxCells{w401, w409, w404, w404, w403, w404, w403, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "submit", mxUnderEval, mxCells{w401, w409, w404, w404, w403, w404, w403, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "endorse", mxUnderEval, mxCells{w401, w403, w404, w404, w409, w404, w403, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/transitions", "recommend", mxUnderEval, mxCells{w401, w403, w404, w404, w403, w404, w403, w404, wOK, wOK}},
	{"POST /api/v1/applications/{id}/transitions", "withdraw", mxUnderEval, mxCells{w401, wOK, w404, w404, w403, w404, w403, w404, w403, w403}},
	{"GET /api/v1/applications", "", mxUnderEval, mxCells{w401, wIn, wOut, wOut, wIn, wOut, wIn, wOut, wIn, wIn}},
	{"GET /api/v1/applications/{id}/assignments", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"POST /api/v1/applications/{id}/assignments", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w201, w201}},
	{"DELETE /api/v1/applications/{id}/assignments/{evaluator}", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w204, w204}},
	{"GET /api/v1/applications/{id}/candidates", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	// Its files: the assigned evaluator reads them, and may not change them.
	{"GET /api/v1/applications/{id}/attachments", "", mxUnderEval, mxCells{w401, wOK, w404, w404, wOK, w404, wOK, w404, wOK, wOK}},
	{"GET /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxUnderEval, mxCells{w401, wOK, w404, w404, wOK, w404, wOK, w404, wOK, wOK}},
	{"POST /api/v1/applications/{id}/attachments/{slot}", "", mxUnderEval, mxCells{w401, w409, w404, w404, w403, w404, w403, w404, w403, w403}},
	{"PUT /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxUnderEval, mxCells{w401, w409, w404, w404, w403, w404, w403, w404, w403, w403}},
	{"DELETE /api/v1/applications/{id}/attachments/{slot}/{n}", "", mxUnderEval, mxCells{w401, w409, w404, w404, w403, w404, w403, w404, w403, w403}},

	// Reviews. An evaluator reads and writes its own review of a dossier
	// assigned to it, and may declare a conflict of interest on it, which
	// ends the assignment; the secretariat reads every review (the
	// assessment) and orders a field's dossiers by them (the ranking). The
	// role is asked first, as for assignments: whoever has not the role is
	// refused 403 before the dossier is looked up; the evaluators, and the
	// secretariat on a draft, do not see the dossier (404).
	{"GET /api/v1/applications/{id}/review", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"PUT /api/v1/applications/{id}/review", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/conflict", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"GET /api/v1/applications/{id}/assessment", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	{"GET /api/v1/calls/{call}/ranking", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/applications/{id}/review", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"PUT /api/v1/applications/{id}/review", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/conflict", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w404, w404, w403, w403}},
	{"GET /api/v1/applications/{id}/assessment", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/ranking", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/applications/{id}/review", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, wOK, w404, w403, w403}},
	{"PUT /api/v1/applications/{id}/review", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, wOK, w404, w403, w403}},
	{"POST /api/v1/applications/{id}/conflict", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w201, w404, w403, w403}},
	{"GET /api/v1/applications/{id}/assessment", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/ranking", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},

	// Exports: the secretariat's spreadsheets of a call, every dossier
	// submitted at least once with its reviews. The role is asked first:
	// everyone else is refused 403 whatever the call holds. The staff get
	// the call's export, in which a draft never appears (the draft call
	// exports no dossier at all); the dossier under evaluation is asked as
	// CSV (see request), the others as JSON, the default.
	{"GET /api/v1/calls/{call}/export/applications", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/applications", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/applications", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/applications", "", mxOpenCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/reviews", "", mxDraft, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/reviews", "", mxSubmitted, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/reviews", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/calls/{call}/export/reviews", "", mxOpenCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},

	// Accounts and the audit log: the admin's.
	{"GET /api/v1/users", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w403, wOK}},
	{"POST /api/v1/users", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w403, w201}},
	{"PATCH /api/v1/users/{id}", "", mxAccount, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w403, wOK}},
	{"GET /api/v1/audit", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w403, wOK}},
	{"GET /api/v1/admin/backup", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w403, wOK}},

	// The outbox: the staff's. The matrix delivers no e-mail, so every
	// message is pending and none may be retried (only a failed one is);
	// an id the outbox does not know (here a dossier's) is 404 to the staff.
	// The role is asked first: the others are refused 403 either way.
	{"GET /api/v1/outbox", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"GET /api/v1/outbox/counts", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
	{"POST /api/v1/outbox/{id}/retry", "", mxMessage, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w409, w409}},
	{"POST /api/v1/outbox/{id}/retry", "", mxNone, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w404, w404}},
	// The results' e-mails leave on the staff's word, never before the
	// announcement: refused while the call is open or its dossiers are
	// under evaluation; once announced, allowed (the matrix's announced
	// calls have no dossier: nothing to release).
	{"POST /api/v1/calls/{call}/results/release", "", mxOpenCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w409, w409}},
	{"POST /api/v1/calls/{call}/results/release", "", mxUnderEval, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, w409, w409}},
	{"POST /api/v1/calls/{call}/results/release", "", mxAnnouncedCall, mxCells{w401, w403, w403, w403, w403, w403, w403, w403, wOK, wOK}},
}

// mxIsWrite reports whether the route changes something (signing in only
// opens a session, which no target shows).
func mxIsWrite(route string) bool {
	return !strings.HasPrefix(route, "GET ") && route != "POST /api/v1/login"
}

// mxAccountOf is an account of the matrix, as the test signs it in.
type mxAccountOf struct {
	Email, Password, Token, ID string
}

// mxThing is a target: a dossier (ID) and its call, a call, or an account (ID).
type mxThing struct {
	ID       string
	Call     string
	CallBody map[string]any
	Dossier  Dossier
}

// mxEnv is the server, its accounts, and the targets the cells act on.
type mxEnv struct {
	t      *testing.T
	tm     *TestMain
	acc    [mxActors]*mxAccountOf
	evalFR *mxAccountOf // an evaluator of the dossiers' own country
	shared map[mxTarget]*mxThing
	pool   []*mxThing // fresh dossiers under evaluation, one per allowed write
	seq    int

	cells, unchanged int
}

// The calls whose dossiers get to evaluation close a day after the clock's
// start; the others keep the API tests' call (deadline 30 April).
var (
	mxEvalDeadline = testStart.Add(24 * time.Hour)
	mxEvalClosed   = mxEvalDeadline.Add(callGrace + time.Minute)
)

func mxEvalCallBody(id string) map[string]any {
	b := callBody(id)
	b["submission_deadline"] = mxEvalDeadline.Format(time.RFC3339)
	b["endorsement_deadline"] = mxEvalDeadline.Add(24 * time.Hour).Format(time.RFC3339)
	return b
}

// mxWithFiles adds to a call body the matrix's attachment slots: a
// required one-file PDF letter and up to two optional photos. Every
// dossier of the matrix holds a letter and a photo (see newDraft), so that
// the file routes have a file to act on and a place left for one more.
func mxWithFiles(b map[string]any) map[string]any {
	slot := func(id, title, typ string, maxBytes, files int, required bool) map[string]any {
		return map[string]any{"id": id, "title": map[string]string{"en": title, "fr": title}, "types": []string{typ},
			"max_bytes": maxBytes, "files": files, "required": required}
	}
	b["attachments"] = []map[string]any{
		slot("letter", "Letter from the Mayor", "pdf", 40_000, 1, true),
		slot("photos", "Photos", "jpeg", 60_000, 2, false),
	}
	b["max_attachment_bytes"] = 200_000
	return b
}

// mxWithReview adds to a call body the matrix's review form: two criteria
// on the default scale (1 to 5), "vision" weighing 2 and "plan" the
// default 1. The calls whose dossiers reach evaluation have it, so that
// the assigned evaluator's review can be saved.
func mxWithReview(b map[string]any) map[string]any {
	b["review"] = map[string]any{"criteria": []map[string]any{
		{"id": "vision", "title": map[string]string{"en": "Vision", "fr": "Vision"}, "weight": 2},
		{"id": "plan", "title": map[string]string{"en": "Action plan", "fr": "Plan d'action"}},
	}}
	return b
}

// mxReview is the final review every actor sends; its weighted mean is
// (2×4 + 1×3) / 3 = 3.67.
var (
	mxReview     = map[string]any{"scores": map[string]int{"vision": 4, "plan": 3}, "recommendation": "recommend", "final": true}
	mxReviewMean = 3.67
)

// mxLetter is the letter of Cannes's dossier in the call, as uploaded.
func mxLetter(call string) []byte { return demoPDF("Cannes", "Letter for "+call) }

// mxFile is a file a request of the matrix uploads, as a form's part "file".
type mxFile struct {
	Name string
	Data []byte
}

// mxPastCallBody is a call whose every instant has passed: it is announced
// as soon as it exists.
func mxPastCallBody(id string) map[string]any {
	b := callBody(id)
	at := func(m time.Month) string { return time.Date(2026, m, 1, 10, 0, 0, 0, paris).Format(time.RFC3339) }
	b["opens_at"], b["submission_deadline"], b["endorsement_deadline"] = at(1), at(2), at(3)
	b["evaluation_deadline"], b["announcement_at"] = at(4), at(5)
	return b
}

// newMxEnv starts the server, makes the accounts and the shared targets,
// and pool dossiers under evaluation for allowed writes.
func newMxEnv(t *testing.T, pool int) *mxEnv {
	t.Helper()
	e := &mxEnv{t: t, tm: MustRunMain(t, false), shared: map[mxTarget]*mxThing{}}
	e.acc[mxAnonymous] = &mxAccountOf{}
	e.acc[mxCannes] = e.account("cannes@fr.example.org", engine.RoleApplicant, "FR", "Cannes")
	e.acc[mxRouen] = e.account("rouen@fr.example.org", engine.RoleApplicant, "FR", "Rouen")
	e.acc[mxCovilha] = e.account("covilha@pt.example.org", engine.RoleApplicant, "PT", "Covilhã")
	e.acc[mxCommissionFR] = e.account("commission@fr.example.org", engine.RoleCommission, "FR", "")
	e.acc[mxCommissionPT] = e.account("commission@pt.example.org", engine.RoleCommission, "PT", "")
	e.acc[mxEvaluatorPT] = e.account("expert@pt.example.org", engine.RoleEvaluator, "PT", "")
	e.acc[mxEvaluatorCN] = e.account("expert@cn.example.org", engine.RoleEvaluator, "CN", "")
	e.acc[mxSecretariat] = e.account("secretariat@example.org", engine.RoleSecretariat, "", "")
	e.acc[mxAdmin] = e.account("admin@example.org", engine.RoleAdmin, "", "")
	e.evalFR = e.account("expert@fr.example.org", engine.RoleEvaluator, "FR", "")

	// Dossiers to take to evaluation: submitted and endorsed now, accepted
	// once their call has closed.
	var evals []*mxThing
	for i := 0; i <= pool; i++ {
		th := e.newSubmitted(e.newCall(mxWithReview(mxWithFiles(mxEvalCallBody(fmt.Sprintf("mx-eval-%d", i))))))
		e.tm.move(e.acc[mxCommissionFR].Token, &th.Dossier, "endorse", "", "endorsed")
		evals = append(evals, th)
	}
	e.tm.Advance(mxEvalClosed)
	e.relogin()
	for _, th := range evals {
		e.tm.move(e.acc[mxSecretariat].Token, &th.Dossier, "accept", "", "eligible")
		e.tm.move(e.acc[mxSecretariat].Token, &th.Dossier, "start_evaluation", "", "under_evaluation")
	}
	e.shared[mxUnderEval], e.pool = evals[0], evals[1:]
	e.assign(e.shared[mxUnderEval], e.acc[mxEvaluatorPT])

	e.shared[mxDraft] = e.newDraft(e.newCall(mxWithFiles(callBody("mx-draft"))))
	e.shared[mxSubmitted] = e.newSubmitted(e.newCall(mxWithFiles(callBody("mx-submitted"))))
	e.shared[mxOpenCall] = e.newCall(callBody("mx-open"))
	e.shared[mxAnnouncedCall] = e.newCall(mxPastCallBody("mx-announced"))
	e.shared[mxAccount] = e.newAccount()
	e.shared[mxNone] = &mxThing{}
	e.shared[mxMessage] = e.receipt(e.shared[mxSubmitted])
	return e
}

// mxOutboxItem is an outbox message as the matrix reads it.
type mxOutboxItem struct {
	ID          string `json:"id"`
	Event       string `json:"event"`
	To          string `json:"to"`
	Application string `json:"application"`
	State       string `json:"state"`
	Attempts    int    `json:"attempts"`
}

// outbox is every message of the outbox, newest first, as the staff reads it.
func (e *mxEnv) outbox() []mxOutboxItem {
	e.t.Helper()
	var l struct{ Items []mxOutboxItem }
	e.tm.MustDo(200, "GET", "/api/v1/outbox?limit=500", e.token(mxSecretariat), nil, &l)
	if len(l.Items) == 500 {
		e.t.Fatal("the matrix's outbox has 500 messages or more: raise the limit")
	}
	return l.Items
}

// receipt is the pending message that tells the city of th its dossier is
// submitted.
func (e *mxEnv) receipt(th *mxThing) *mxThing {
	e.t.Helper()
	for _, m := range e.outbox() {
		if m.Application == th.ID && m.Event == "submit" && m.To == "city" {
			if m.State != "pending" || m.Attempts != 0 {
				e.t.Fatalf("the receipt of %s is %s after %d attempts, want pending: the matrix delivers nothing", th.ID, m.State, m.Attempts)
			}
			return &mxThing{ID: m.ID, Call: th.Call}
		}
	}
	e.t.Fatalf("no receipt of %s in the outbox", th.ID)
	return nil
}

// account makes an account and signs it in.
func (e *mxEnv) account(email string, role engine.Role, country, city string) *mxAccountOf {
	e.t.Helper()
	u, err := e.tm.Service.CreateUser(context.Background(), engine.System, engine.NewUser{
		Email: email, Password: testPassword, Role: role, Country: country, City: city})
	if err != nil {
		e.t.Fatal(err)
	}
	return &mxAccountOf{Email: email, Password: testPassword, ID: u.ID, Token: e.tm.MustLogin(email, testPassword)}
}

// relogin signs every account in again, after the clock moved past the
// sessions' idle time.
func (e *mxEnv) relogin() {
	e.t.Helper()
	accounts := append([]*mxAccountOf{e.evalFR}, e.acc[mxAnonymous+1:]...)
	for _, a := range accounts {
		a.Token = e.tm.MustLogin(a.Email, a.Password)
	}
}

func (e *mxEnv) token(a mxActor) string { return e.acc[a].Token }

func (e *mxEnv) newCall(body map[string]any) *mxThing {
	e.t.Helper()
	var c Call
	e.tm.MustDo(201, "POST", "/api/v1/calls", e.token(mxSecretariat), body, &c)
	return &mxThing{Call: c.ID, CallBody: body}
}

func (e *mxEnv) nextID(prefix string) string {
	e.seq++
	return fmt.Sprintf("%s-%d", prefix, e.seq)
}

// newDraft starts a complete draft of Cannes in the call.
func (e *mxEnv) newDraft(call *mxThing) *mxThing {
	e.t.Helper()
	th := &mxThing{Call: call.Call}
	body := map[string]string{"city": "Cannes", "country": "FR", "field": "Film", "language": "en"}
	e.tm.MustDo(201, "POST", "/api/v1/calls/"+call.Call+"/applications", e.token(mxCannes), body, &th.Dossier)
	e.tm.MustDo(200, "PUT", "/api/v1/applications/"+th.Dossier.ID, e.token(mxCannes), completeDraft(th.Dossier.Version, "Cannes"), &th.Dossier)
	th.ID = th.Dossier.ID
	// Its letter and a photo: real files, as a form sends them.
	for _, f := range []struct {
		slot string
		file mxFile
	}{
		{"letter", mxFile{"letter.pdf", mxLetter(call.Call)}},
		{"photos", mxFile{"photo.jpg", demoJPEG(64, 48, 1)}},
	} {
		r, err := attSendFile(e.tm, "POST", "/api/v1/applications/"+th.ID+"/attachments/"+f.slot, e.token(mxCannes), f.file.Name, f.file.Data)
		if err != nil || r.Status != 201 {
			e.t.Fatalf("upload %s to %s: %v %+v", f.file.Name, th.ID, err, r)
		}
		if err := json.Unmarshal(r.Body, &th.Dossier); err != nil {
			e.t.Fatal(err)
		}
	}
	return th
}

func (e *mxEnv) newSubmitted(call *mxThing) *mxThing {
	e.t.Helper()
	th := e.newDraft(call)
	e.tm.move(e.token(mxCannes), &th.Dossier, "submit", "", "submitted")
	return th
}

func (e *mxEnv) newAccount() *mxThing {
	e.t.Helper()
	email := e.nextID("scratch") + "@example.org"
	u, err := e.tm.Service.CreateUser(context.Background(), engine.System, engine.NewUser{
		Email: email, Password: testPassword, Role: engine.RoleApplicant, Country: "FR", City: "Nice"})
	if err != nil {
		e.t.Fatal(err)
	}
	return &mxThing{ID: u.ID}
}

func (e *mxEnv) assign(th *mxThing, ev *mxAccountOf) {
	e.t.Helper()
	e.tm.MustDo(201, "POST", "/api/v1/applications/"+th.ID+"/assignments", e.token(mxSecretariat),
		map[string]string{"evaluator": ev.ID, "kind": "expert"}, nil)
}

// fresh is a target of the row's kind that no other cell uses.
func (e *mxEnv) fresh(row mxRow) *mxThing {
	e.t.Helper()
	switch row.Target {
	case mxDraft:
		return e.newDraft(e.newCall(mxWithFiles(callBody(e.nextID("mx-fresh")))))
	case mxSubmitted:
		return e.newSubmitted(e.newCall(mxWithFiles(callBody(e.nextID("mx-fresh")))))
	case mxUnderEval:
		if len(e.pool) == 0 {
			e.t.Fatalf("%s: no dossier under evaluation left in the pool", row.Route)
		}
		th := e.pool[0]
		e.pool = e.pool[1:]
		// A write on the PT evaluator's assignment, or by the PT evaluator
		// on its review, needs it assigned.
		if strings.HasPrefix(row.Route, "DELETE ") || strings.HasSuffix(row.Route, "/review") || strings.HasSuffix(row.Route, "/conflict") {
			e.assign(th, e.acc[mxEvaluatorPT])
		}
		return th
	case mxOpenCall:
		return e.newCall(callBody(e.nextID("mx-fresh")))
	case mxAnnouncedCall:
		return e.newCall(mxPastCallBody(e.nextID("mx-past")))
	case mxAccount:
		return e.newAccount()
	}
	return &mxThing{}
}

// mxPoolSize is how many allowed writes the matrix makes on a dossier under
// evaluation: each needs a dossier of its own.
func mxPoolSize() int {
	n := 0
	for _, row := range accessMatrix {
		for _, w := range row.Want {
			if row.Target == mxUnderEval && mxIsWrite(row.Route) && w.allowed() {
				n++
			}
		}
	}
	return n
}

// mxProbe is a read that must answer the same before and after a refused write.
type mxProbe struct{ path, token string }

func (e *mxEnv) probes(target mxTarget, th *mxThing) []mxProbe {
	// No refused write adds, changes or releases an e-mail: the outbox's
	// newest messages (ids grow with time) read the same.
	return append(e.targetProbes(target, th), mxProbe{"/api/v1/outbox?limit=5", e.token(mxSecretariat)})
}

func (e *mxEnv) targetProbes(target mxTarget, th *mxThing) []mxProbe {
	app := "/api/v1/applications/" + th.ID
	switch target {
	case mxDraft:
		return []mxProbe{{app, e.token(mxCannes)}, {app + "/history", e.token(mxCannes)},
			{app + "/attachments", e.token(mxCannes)}, {app + "/attachments/letter/1", e.token(mxCannes)}}
	case mxSubmitted, mxUnderEval:
		probes := []mxProbe{{app, e.token(mxCannes)}, {app + "/history", e.token(mxCannes)},
			{app, e.token(mxSecretariat)}, {app + "/assignments", e.token(mxSecretariat)},
			{app + "/attachments", e.token(mxSecretariat)}, {app + "/attachments/letter/1", e.token(mxSecretariat)},
			{app + "/assessment", e.token(mxSecretariat)}}
		if target == mxUnderEval {
			probes = append(probes, mxProbe{app + "/review", e.token(mxEvaluatorPT)})
		}
		return probes
	case mxOpenCall:
		return []mxProbe{{"/api/v1/calls/" + th.Call, ""}, {"/api/v1/applications?limit=500&call=" + th.Call, e.token(mxCannes)}}
	case mxAnnouncedCall:
		return []mxProbe{{"/api/v1/calls/" + th.Call, ""}}
	case mxMessage:
		return []mxProbe{{"/api/v1/outbox?limit=500", e.token(mxSecretariat)}}
	}
	return []mxProbe{{"/api/v1/calls", ""}, {"/api/v1/users", e.token(mxAdmin)}}
}

// request is what the actor sends for the row on the target.
func (e *mxEnv) request(row mxRow, a mxActor, th *mxThing) (method, path string, body any) {
	method, path, _ = strings.Cut(row.Route, " ")
	path = strings.NewReplacer("{call}", th.Call, "{id}", th.ID, "{evaluator}", e.acc[mxEvaluatorPT].ID,
		"{slot}", "letter", "{n}", "1").Replace(path)
	acc := e.acc[a]
	switch row.Route {
	case "POST /api/v1/login":
		if a == mxAnonymous {
			return method, path, map[string]string{"email": "nobody@example.org", "password": testPassword}
		}
		return method, path, map[string]string{"email": acc.Email, "password": acc.Password}
	case "POST /api/v1/me/password":
		pw := acc.Password
		if pw == "" {
			pw = testPassword
		}
		return method, path, map[string]string{"current_password": pw, "new_password": pw + "!"}
	case "POST /api/v1/calls":
		return method, path, callBody(e.nextID("mx-new"))
	case "PUT /api/v1/calls/{call}":
		b := map[string]any{}
		for k, v := range th.CallBody {
			b[k] = v
		}
		b["title"] = "Edited by " + mxActorNames[a]
		return method, path, b
	case "POST /api/v1/calls/{call}/transitions", "POST /api/v1/applications/{id}/transitions":
		return method, path, map[string]string{"event": row.Event}
	case "POST /api/v1/calls/{call}/applications":
		return method, path, map[string]string{"city": "Cannes", "country": "FR", "field": "Film", "language": "en"}
	case "GET /api/v1/applications":
		return method, path + "?limit=500", nil
	case "PUT /api/v1/applications/{id}":
		// A valid save at the version Cannes is shown.
		return method, path, completeDraft(e.tm.dossier(th.ID, e.token(mxCannes)).Version, "Cannes")
	case "POST /api/v1/applications/{id}/attachments/{slot}":
		// A second photo: the slot has room for it, and it is not the one
		// the dossier holds.
		path = strings.Replace(path, "/attachments/letter", "/attachments/photos", 1)
		return method, path, mxFile{"photo by " + mxActorNames[a] + ".jpg", demoJPEG(32+e.seq%64, 24, 2)}
	case "PUT /api/v1/applications/{id}/attachments/{slot}/{n}":
		return method, path, mxFile{"letter by " + mxActorNames[a] + ".pdf", demoPDF("Cannes", "Revised by "+mxActorNames[a], e.nextID("v"))}
	case "POST /api/v1/applications/{id}/assignments":
		return method, path, map[string]string{"evaluator": e.acc[mxEvaluatorPT].ID, "kind": "expert"}
	case "PUT /api/v1/applications/{id}/review":
		b := maps.Clone(mxReview)
		b["comment"] = "Reviewed by " + mxActorNames[a]
		return method, path, b
	case "POST /api/v1/applications/{id}/conflict":
		return method, path, map[string]string{"reason": "Advised the city on its bid (" + mxActorNames[a] + ")."}
	case "GET /api/v1/calls/{call}/ranking":
		return method, path + "?field=Film", nil
	case "GET /api/v1/calls/{call}/export/applications", "GET /api/v1/calls/{call}/export/reviews":
		if row.Target == mxUnderEval {
			return method, path + "?format=csv", nil
		}
		return method, path, nil
	case "GET /api/v1/outbox":
		return method, path + "?limit=500", nil
	case "POST /api/v1/outbox/{id}/retry":
		if row.Target == mxNone {
			// An id the engine made, of a dossier: no message has it.
			path = "/api/v1/outbox/" + e.shared[mxSubmitted].ID + "/retry"
		}
		return method, path, nil
	case "POST /api/v1/users":
		return method, path, map[string]string{"email": e.nextID("new") + "@example.org", "password": testPassword,
			"role": "applicant", "country": "FR", "city": "Nice"}
	case "PATCH /api/v1/users/{id}":
		return method, path, map[string]string{"language": "fr"}
	}
	return method, path, nil
}

// cell runs one cell and asserts it.
func (e *mxEnv) cell(row mxRow, a mxActor) {
	t := e.t
	t.Helper()
	want := row.Want[a]
	label := fmt.Sprintf("%s %s [%s] as %s", row.Route, row.Event, mxTargetNames[row.Target], mxActorNames[a])
	if want == "" {
		t.Errorf("%s: the matrix has no expectation", label)
		return
	}
	write := mxIsWrite(row.Route)
	th := e.shared[row.Target]
	if write && want.allowed() {
		th = e.fresh(row)
	}
	method, path, body := e.request(row, a, th)
	token := e.token(a)
	if row.Route == "POST /api/v1/logout" && a != mxAnonymous {
		token = e.tm.MustLogin(e.acc[a].Email, e.acc[a].Password) // a session of its own to end
	}
	var probes []mxProbe
	var before [][]byte
	if write && !want.allowed() {
		probes = e.probes(row.Target, th)
		for _, p := range probes {
			before = append(before, e.tm.Raw(p.path, p.token))
		}
	}
	var prev Dossier
	if write && want.allowed() && th.Dossier.ID != "" {
		prev = e.tm.dossier(th.ID, e.token(mxCannes))
	}

	files := strings.Contains(row.Route, "/attachments")
	var disk attStored
	if files && write && !want.allowed() {
		disk = attDisk(t, e.tm)
	}

	var r *Response
	var err error
	if file, ok := body.(mxFile); ok {
		r, err = attSendFile(e.tm, method, path, token, file.Name, file.Data)
	} else {
		r, err = e.tm.Send(method, path, token, body)
	}
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	e.cells++
	if r.Status != want.status() {
		t.Errorf("%s: status %d, want %s; body %.300s", label, r.Status, want, r.Body)
	} else if code := want.code(); code != "" {
		var ae APIError
		if err := json.Unmarshal(r.Body, &ae); err != nil || ae.Error.Code != code {
			t.Errorf("%s: body %.300s, want error code %q", label, r.Body, code)
		}
	} else if row.Route == "GET /api/v1/applications/{id}/attachments/{slot}/{n}" && !bytes.Equal(r.Body, mxLetter(th.Call)) {
		t.Errorf("%s: %d bytes, not the letter the city uploaded", label, len(r.Body))
	} else if row.Route == "GET /api/v1/applications/{id}/attachments" {
		var l struct{ Items []attItem }
		if err := json.Unmarshal(r.Body, &l); err != nil || len(l.Items) != 2 || l.Items[0].SHA256 != attSHA(mxLetter(th.Call)) {
			t.Errorf("%s: list %.300s, want the letter and the photo", label, r.Body)
		}
	} else if mxReviewReads[row.Route] {
		e.reviewRead(label, row, th, r)
	} else if mxExportReads[row.Route] {
		e.exportRead(label, row, th, r)
	} else if row.Route == "GET /api/v1/outbox" {
		e.outboxRead(label, r)
	} else if want == wIn || want == wOut {
		var p Page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Errorf("%s: decode %s: %v", label, r.Body, err)
		} else if p.NextCursor != "" {
			t.Errorf("%s: the list has more than one page", label)
		} else if listed := slices.Contains(ids(p.Items), th.ID); listed != (want == wIn) {
			t.Errorf("%s: dossier %s listed %v, want %s; list %v", label, th.ID, listed, want, ids(p.Items))
		}
	}

	for i, p := range probes {
		e.tm.MustUnchanged(p.path, p.token, before[i])
		e.unchanged++
	}
	if files && write && !want.allowed() {
		// A refused upload keeps no file and leaves nothing in staging.
		after := attDisk(t, e.tm)
		if got, was := slices.Sorted(maps.Keys(after.kept)), slices.Sorted(maps.Keys(disk.kept)); !slices.Equal(got, was) || len(after.staging) != 0 {
			t.Errorf("%s: refused, yet the kept files went from %d to %d (staging %v)", label, len(was), len(got), after.staging)
		}
	}
	if write && want.allowed() && r.Status == want.status() {
		e.allowedDone(label, row, a, th, prev, token, r, body)
	}
}

// mxReviewReads are the review routes whose answers reviewRead checks.
var mxReviewReads = map[string]bool{
	"GET /api/v1/applications/{id}/review":     true,
	"GET /api/v1/applications/{id}/assessment": true,
	"GET /api/v1/calls/{call}/ranking":         true,
}

// mxRanking is GET /api/v1/calls/{call}/ranking's answer, as far as the
// matrix reads it.
type mxRanking struct {
	Call  string `json:"call"`
	Field string `json:"field"`
	Items []struct {
		Rank        int     `json:"rank"`
		Application Dossier `json:"application"`
	} `json:"items"`
}

// reviewRead checks what a review route answers when it is allowed: the
// review is the assigned evaluator's own (empty: nobody has written it),
// the assessment the target's, and the ranking has the target exactly
// when it is under evaluation.
func (e *mxEnv) reviewRead(label string, row mxRow, th *mxThing, r *Response) {
	t := e.t
	t.Helper()
	switch row.Route {
	case "GET /api/v1/applications/{id}/review":
		var rv engine.Review
		if err := json.Unmarshal(r.Body, &rv); err != nil || rv.Application != th.ID || rv.Evaluator != e.acc[mxEvaluatorPT].ID || rv.Version != 0 {
			t.Errorf("%s: %s, want the PT evaluator's empty review of %s", label, r.Body, th.ID)
		}
	case "GET /api/v1/applications/{id}/assessment":
		var as engine.Assessment
		if err := json.Unmarshal(r.Body, &as); err != nil || as.Application != th.ID || len(as.Reviews) != 0 || as.Mean != nil {
			t.Errorf("%s: %s, want the assessment of %s, with no review", label, r.Body, th.ID)
		}
	case "GET /api/v1/calls/{call}/ranking":
		var rk mxRanking
		if err := json.Unmarshal(r.Body, &rk); err != nil || rk.Call != th.Call || rk.Field != "Film" {
			t.Errorf("%s: %s, want the ranking of %s in Film", label, r.Body, th.Call)
			break
		}
		ranked := false
		for i, x := range rk.Items {
			ranked = ranked || x.Application.ID == th.ID
			if x.Rank != i+1 {
				t.Errorf("%s: item %d has rank %d", label, i, x.Rank)
			}
		}
		if ranked != (row.Target == mxUnderEval) {
			t.Errorf("%s: dossier %s (%s) ranked %v; ranking %s", label, th.ID, mxTargetNames[row.Target], ranked, r.Body)
		}
	}
}

// mxExportReads are the export routes whose answers exportRead checks.
var mxExportReads = map[string]bool{
	"GET /api/v1/calls/{call}/export/applications": true,
	"GET /api/v1/calls/{call}/export/reviews":      true,
}

// mxExportHeader is the applications export's header row, as
// web/export_applications.go documents it.
var mxExportHeader = []string{"id", "call", "city", "country", "field", "language", "state", "version", "submitted_at", "updated_at",
	"submission_digest", "files", "final_reviews", "mean", "spread", "strong_disagreement", "recommend", "do_not_recommend"}

// exportRead checks an export the staff may read: the target's call, its
// dossier exactly when it has left the draft state (a draft, and the open
// call, export none; the draft's id appears nowhere in the answer), no
// review yet; as CSV (the dossier under evaluation) a download with the
// header rows the handlers document, as JSON otherwise.
func (e *mxEnv) exportRead(label string, row mxRow, th *mxThing, r *Response) {
	t := e.t
	t.Helper()
	reviews := strings.HasSuffix(row.Route, "/reviews")
	var wantIDs []string
	wantState := map[mxTarget]string{mxSubmitted: "submitted", mxUnderEval: "under_evaluation"}[row.Target]
	if wantState != "" && !reviews {
		wantIDs = []string{th.ID}
	}
	if row.Target == mxDraft && bytes.Contains(r.Body, []byte(th.ID)) {
		t.Errorf("%s: the export names the draft %s: %.300s", label, th.ID, r.Body)
	}
	if row.Target == mxUnderEval {
		kind := "applications"
		if reviews {
			kind = "reviews"
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("%s: Content-Type %q, want text/csv; charset=utf-8", label, ct)
		}
		if d, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err != nil || d != "attachment" || params["filename"] != th.Call+"-"+kind+".csv" {
			t.Errorf("%s: Content-Disposition %q, want an attachment named %s-%s.csv", label, r.Header.Get("Content-Disposition"), th.Call, kind)
		}
		records, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil || len(records) == 0 || !bytes.HasSuffix(r.Body, []byte("\r\n")) {
			t.Errorf("%s: %q is not a CSV file with a header row ending in CRLF: %v", label, r.Body, err)
			return
		}
		header := mxExportHeader
		if reviews {
			header = []string{"application", "city", "country", "field", "evaluator", "kind", "final", "recommendation", "mean",
				"score_vision", "score_plan", "comment", "updated_at"}
		}
		if !slices.Equal(records[0], header) {
			t.Errorf("%s: header %q, want %q", label, records[0], header)
		}
		var got []string
		for _, rec := range records[1:] {
			got = append(got, rec[0])
			if !reviews && (rec[1] != th.Call || rec[2] != "Cannes" || rec[3] != "FR" || rec[4] != "Film" || rec[6] != wantState ||
				rec[10] == "" || rec[11] != "2" || rec[12] != "0" || rec[13] != "") {
				t.Errorf("%s: row %q, want Cannes's dossier under evaluation, its digest, 2 files and no final review", label, rec)
			}
		}
		if !slices.Equal(got, wantIDs) {
			t.Errorf("%s: rows for %v, want %v", label, got, wantIDs)
		}
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want JSON", label, ct)
	}
	if reviews {
		var ex struct {
			Call     string            `json:"call"`
			Criteria []json.RawMessage `json:"criteria"`
			Items    []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(r.Body, &ex); err != nil || ex.Call != th.Call || ex.Items == nil || len(ex.Items) != 0 {
			t.Errorf("%s: %.300s, want the reviews of %s: none yet", label, r.Body, th.Call)
		}
		if keys := rvKeys(t, r.Body); !slices.Equal(keys, []string{"call", "criteria", "items"}) {
			t.Errorf("%s: keys %v", label, keys)
		}
		return
	}
	var ex struct {
		Call struct {
			ID string `json:"id"`
		} `json:"call"`
		Applications []struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			Assessment *struct {
				Application string            `json:"application"`
				Reviews     []json.RawMessage `json:"reviews"`
			} `json:"assessment"`
		} `json:"applications"`
	}
	if err := json.Unmarshal(r.Body, &ex); err != nil || ex.Call.ID != th.Call || ex.Applications == nil {
		t.Errorf("%s: %.300s, want the export of %s with a list of dossiers: %v", label, r.Body, th.Call, err)
		return
	}
	var got []string
	for _, a := range ex.Applications {
		got = append(got, a.ID)
		if a.State != wantState || a.Assessment == nil || a.Assessment.Application != a.ID || a.Assessment.Reviews == nil || len(a.Assessment.Reviews) != 0 {
			t.Errorf("%s: dossier %s (%s) exported with assessment %+v; want %s, assessed, with no review", label, a.ID, a.State, a.Assessment, wantState)
		}
	}
	if !slices.Equal(got, wantIDs) {
		t.Errorf("%s: exports %v, want %v", label, got, wantIDs)
	}
}

// outboxRead checks the outbox as the staff read it: Cannes's receipt is
// there, and, the matrix delivering nothing, every message is pending.
func (e *mxEnv) outboxRead(label string, r *Response) {
	t := e.t
	t.Helper()
	var l struct{ Items []mxOutboxItem }
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Errorf("%s: decode %.300s: %v", label, r.Body, err)
		return
	}
	receipt := e.shared[mxMessage].ID
	if !slices.ContainsFunc(l.Items, func(m mxOutboxItem) bool { return m.ID == receipt }) {
		t.Errorf("%s: %d messages, without Cannes's receipt %s", label, len(l.Items), receipt)
	}
	for _, m := range l.Items {
		if m.State != "pending" || m.Attempts != 0 {
			t.Errorf("%s: message %s (%s to %s) is %s after %d attempts, want pending", label, m.ID, m.Event, m.To, m.State, m.Attempts)
		}
	}
}

// mxEventTo is where each event of the matrix takes a dossier.
var mxEventTo = map[string]string{"submit": "submitted", "endorse": "endorsed", "recommend": "recommended", "withdraw": "withdrawn"}

// allowedDone checks that an allowed write did what it says, and keeps the
// environment usable (sessions a write ended are opened again).
func (e *mxEnv) allowedDone(label string, row mxRow, a mxActor, th *mxThing, prev Dossier, token string, r *Response, body any) {
	t, tm := e.t, e.tm
	t.Helper()
	switch row.Route {
	case "POST /api/v1/logout":
		if st := tm.MustSend("GET", "/api/v1/me", token, nil).Status; st != 401 {
			t.Errorf("%s: the ended session still answers %d", label, st)
		}
		if st := tm.MustSend("GET", "/api/v1/me", e.token(a), nil).Status; st != 200 {
			t.Errorf("%s: logging out one session ended another (%d)", label, st)
		}
	case "POST /api/v1/me/password":
		old := e.token(a)
		acc := e.acc[a]
		acc.Password += "!"
		acc.Token = tm.MustLogin(acc.Email, acc.Password)
		if st := tm.MustSend("GET", "/api/v1/me", old, nil).Status; st != 401 {
			t.Errorf("%s: the session survived a password change (%d)", label, st)
		}
	case "PUT /api/v1/applications/{id}", "POST /api/v1/applications/{id}/transitions":
		var d Dossier
		_ = json.Unmarshal(r.Body, &d)
		wantState := "draft"
		if row.Event != "" {
			wantState = mxEventTo[row.Event]
		}
		if d.ID != th.ID || d.Version != prev.Version+1 || d.State != wantState {
			t.Errorf("%s: answered %s v%d, want %s v%d", label, d.State, d.Version, wantState, prev.Version+1)
		}
	case "POST /api/v1/applications/{id}/attachments/{slot}", "PUT /api/v1/applications/{id}/attachments/{slot}/{n}",
		"DELETE /api/v1/applications/{id}/attachments/{slot}/{n}":
		var d engine.Application
		_ = json.Unmarshal(r.Body, &d)
		if d.ID != th.ID || d.Version != prev.Version+1 || d.State != engine.Draft {
			t.Errorf("%s: answered %s v%d, want draft v%d", label, d.State, d.Version, prev.Version+1)
		}
		// What the city downloads afterwards: the new photo, the new
		// letter, or no letter at all.
		app := "/api/v1/applications/" + th.ID
		switch row.Route[0] {
		case 'P':
			file := body.(mxFile)
			where := app + "/attachments/letter/1"
			if row.Route[1] == 'O' {
				where = r.Header.Get("Location")
				if where != app+"/attachments/photos/2" {
					t.Errorf("%s: Location %q, want %s", label, where, app+"/attachments/photos/2")
				}
			}
			if dl := tm.MustSend("GET", where, e.token(mxCannes), nil); dl.Status != 200 || !bytes.Equal(dl.Body, file.Data) {
				t.Errorf("%s: GET %s answers %d with %d bytes, not the %d uploaded", label, where, dl.Status, len(dl.Body), len(file.Data))
			}
		case 'D':
			if st := tm.MustSend("GET", app+"/attachments/letter/1", e.token(mxCannes), nil).Status; st != 404 || len(d.Attachments) != 1 {
				t.Errorf("%s: the letter still answers %d; the dossier has %d files", label, st, len(d.Attachments))
			}
		}
	case "POST /api/v1/applications/{id}/assignments", "DELETE /api/v1/applications/{id}/assignments/{evaluator}":
		var list struct{ Items []engine.Assignment }
		tm.MustDo(200, "GET", "/api/v1/applications/"+th.ID+"/assignments", e.token(mxSecretariat), nil, &list)
		has := slices.ContainsFunc(list.Items, func(x engine.Assignment) bool { return x.Evaluator == e.acc[mxEvaluatorPT].ID })
		seen := tm.MustSend("GET", "/api/v1/applications/"+th.ID, e.token(mxEvaluatorPT), nil).Status
		if wantHas := row.Route[0] == 'P'; has != wantHas || (seen == 200) != wantHas {
			t.Errorf("%s: evaluator assigned %v, sees the dossier: %d; want assigned %v", label, has, seen, wantHas)
		}
	case "PUT /api/v1/applications/{id}/review":
		var rv engine.Review
		_ = json.Unmarshal(r.Body, &rv)
		ev := e.acc[mxEvaluatorPT].ID
		if rv.Application != th.ID || rv.Evaluator != ev || rv.Version != 1 || !rv.Final || rv.Mean == nil || *rv.Mean != mxReviewMean {
			t.Errorf("%s: answered %s, want a final review v1 of %s by %s with mean %v", label, r.Body, th.ID, ev, mxReviewMean)
		}
		// The evaluator reads it back; the secretariat counts it.
		var back engine.Review
		tm.MustDo(200, "GET", "/api/v1/applications/"+th.ID+"/review", e.token(a), nil, &back)
		if back.Version != 1 || back.Comment != body.(map[string]any)["comment"] || back.Mean == nil || *back.Mean != mxReviewMean {
			t.Errorf("%s: reads back %+v", label, back)
		}
		var as engine.Assessment
		tm.MustDo(200, "GET", "/api/v1/applications/"+th.ID+"/assessment", e.token(mxSecretariat), nil, &as)
		if len(as.Reviews) != 1 || as.Final != 1 || as.Mean == nil || *as.Mean != mxReviewMean {
			t.Errorf("%s: the secretariat's assessment %+v, want the one final review", label, as)
		}
	case "POST /api/v1/applications/{id}/conflict":
		var c engine.Conflict
		_ = json.Unmarshal(r.Body, &c)
		ev := e.acc[mxEvaluatorPT].ID
		if c.Application != th.ID || c.Evaluator != ev || c.Reason != body.(map[string]string)["reason"] {
			t.Errorf("%s: answered %s, want the conflict of %s on %s", label, r.Body, ev, th.ID)
		}
		// The assignment is over, for good: the evaluator no longer sees the
		// dossier, and cannot be assigned to it again.
		app := "/api/v1/applications/" + th.ID
		var list struct{ Items []engine.Assignment }
		tm.MustDo(200, "GET", app+"/assignments", e.token(mxSecretariat), nil, &list)
		if slices.ContainsFunc(list.Items, func(x engine.Assignment) bool { return x.Evaluator == ev }) {
			t.Errorf("%s: the evaluator is still assigned: %+v", label, list.Items)
		}
		for _, p := range []string{app, app + "/review"} {
			if st := tm.MustSend("GET", p, e.token(a), nil).Status; st != 404 {
				t.Errorf("%s: GET %s as the evaluator answers %d, want 404", label, p, st)
			}
		}
		var as engine.Assessment
		tm.MustDo(200, "GET", app+"/assessment", e.token(mxSecretariat), nil, &as)
		if len(as.Conflicts) != 1 || as.Conflicts[0].Evaluator != ev || len(as.Reviews) != 0 {
			t.Errorf("%s: the secretariat's assessment %+v, want the conflict and no review", label, as)
		}
		tm.MustFail(409, "conflict", "POST", app+"/assignments", e.token(mxSecretariat), map[string]string{"evaluator": ev, "kind": "expert"})
	case "POST /api/v1/calls/{call}/results/release":
		// An announced call without dossiers has nothing to release, the
		// first time or the next.
		again := tm.MustSend("POST", "/api/v1/calls/"+th.Call+"/results/release", token, nil)
		for _, r := range []*Response{r, again} {
			var rel struct {
				Call     string `json:"call"`
				Released *int   `json:"released"`
			}
			if err := json.Unmarshal(r.Body, &rel); r.Status != 200 || err != nil || rel.Call != th.Call || rel.Released == nil || *rel.Released != 0 {
				t.Errorf("%s: answered %d %s, want %s with 0 released", label, r.Status, r.Body, th.Call)
			}
		}
	case "POST /api/v1/calls/{call}/transitions":
		var c Call
		_ = json.Unmarshal(r.Body, &c)
		if c.ID != th.Call || c.State != "archived" {
			t.Errorf("%s: call %s is %s, want archived", label, c.ID, c.State)
		}
	case "POST /api/v1/calls/{call}/applications":
		var d Dossier
		_ = json.Unmarshal(r.Body, &d)
		if d.State != "draft" || d.City != "Cannes" || d.Call != th.Call {
			t.Errorf("%s: created %+v", label, d)
		}
	case "PATCH /api/v1/users/{id}":
		var u engine.User
		_ = json.Unmarshal(r.Body, &u)
		if u.ID != th.ID || u.Language != "fr" {
			t.Errorf("%s: account %+v, want %s in fr", label, u, th.ID)
		}
	}
}

// TestAccessMatrix asserts every cell of the access matrix against the real
// server.
func TestAccessMatrix(t *testing.T) {
	start := time.Now()
	e := newMxEnv(t, mxPoolSize())
	for _, row := range accessMatrix {
		for a := range mxActors {
			e.cell(row, a)
		}
	}
	if len(e.pool) != 0 {
		t.Errorf("%d pool dossiers left unused: mxPoolSize is wrong", len(e.pool))
	}
	if want := len(accessMatrix) * int(mxActors); e.cells != want {
		t.Errorf("%d cells asserted, want %d", e.cells, want)
	}
	t.Logf("%d rows, %d cells asserted, %d read-backs unchanged after refused writes, in %v",
		len(accessMatrix), e.cells, e.unchanged, time.Since(start).Round(time.Millisecond))
}

// An evaluator never assesses a city of its own country: assigning the
// French expert a French dossier is a conflict, which changes nothing.
func TestAccessMatrix_NoEvaluatorOfTheDossiersOwnCountry(t *testing.T) {
	e := newMxEnv(t, 0)
	th := e.shared[mxUnderEval]
	path := "/api/v1/applications/" + th.ID + "/assignments"
	for _, as := range []mxActor{mxSecretariat, mxAdmin} {
		for _, kind := range []string{"expert", "member_city"} {
			probes := e.probes(mxUnderEval, th)
			var before [][]byte
			for _, p := range probes {
				before = append(before, e.tm.Raw(p.path, p.token))
			}
			refused := e.tm.MustFail(409, "conflict", "POST", path, e.token(as), map[string]string{"evaluator": e.evalFR.ID, "kind": kind})
			if !strings.Contains(refused.Error.Message, "FR") {
				t.Errorf("conflict refusal %q does not name the country", refused.Error.Message)
			}
			for i, p := range probes {
				e.tm.MustUnchanged(p.path, p.token, before[i])
			}
		}
	}
	e.tm.MustFail(404, "not_found", "GET", "/api/v1/applications/"+th.ID, e.evalFR.Token, nil)
	// The Portuguese expert, of another country, is assigned (by the setup).
	var list struct{ Items []engine.Assignment }
	e.tm.MustDo(200, "GET", path, e.token(mxSecretariat), nil, &list)
	if len(list.Items) != 1 || list.Items[0].Evaluator != e.acc[mxEvaluatorPT].ID || list.Items[0].Kind != "expert" {
		t.Fatalf("assignments %+v, want the PT expert only", list.Items)
	}
}

// TestAccessMatrix_CoversEveryRoute fails when web/server.go registers a
// route the matrix has no row for, or the matrix has a row for a route that
// is not registered. The routes are read from the source text.
func TestAccessMatrix_CoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "web", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	registered, problems := mxRoutesOf(string(src))
	for _, p := range problems {
		t.Errorf("web/server.go: %s", p)
	}
	if len(registered) < 20 {
		t.Fatalf("read only %d routes from web/server.go: %v", len(registered), registered)
	}
	covered := map[string]bool{}
	for _, row := range accessMatrix {
		covered[row.Route] = true
	}
	for _, r := range registered {
		if !covered[r] {
			t.Errorf("web/server.go registers %s, which has no row in the access matrix", r)
		}
	}
	for r := range covered {
		if !slices.Contains(registered, r) {
			t.Errorf("the access matrix has a row for %s, which web/server.go does not register", r)
		}
	}
}

// The route reader sees a route added in any of the forms server.go uses,
// and refuses, rather than skips, one it cannot read.
func TestAccessMatrix_RouteReaderSeesNewRoutes(t *testing.T) {
	src := `
	const api = "/api/v1"
	// r.HandleFunc("/commented", s.x).Methods(http.MethodGet)
	r.HandleFunc(api+"/applications/{id}/comments", s.comments).Methods(http.MethodPost, http.MethodGet)
	r.HandleFunc(loginPath, s.login).Methods(http.MethodPost)
	r.HandleFunc("/healthz", s.healthz).Methods("HEAD")
	r.HandleFunc(api+"/everything", s.all)
	r.Handle(api+"/files", files)
	const loginPath = "/api/v1/login"
`
	routes, problems := mxRoutesOf(src)
	want := []string{"GET /api/v1/applications/{id}/comments", "HEAD /healthz", "POST /api/v1/applications/{id}/comments", "POST /api/v1/login"}
	if !slices.Equal(routes, want) {
		t.Errorf("routes %q, want %q", routes, want)
	}
	if len(problems) != 2 {
		t.Errorf("problems %q, want the route without methods and the r.Handle one", problems)
	}
}

var (
	mxConstRE = regexp.MustCompile(`\bconst\s+(\w+)\s*=\s*("[^"]*")`)
	mxRouteRE = regexp.MustCompile(`^r\.HandleFunc\((.+?),\s*s\.\w+\)\.Methods\(([^)]*)\)$`)
)

// mxRoutesOf returns "METHOD /path/{template}" for every r.HandleFunc line
// of src, resolving string constants (api, loginPath) and concatenations,
// sorted; and a problem for each registration it cannot read, so that such
// a route fails the coverage test rather than escaping it.
func mxRoutesOf(src string) (routes, problems []string) {
	consts := map[string]string{}
	for _, m := range mxConstRE.FindAllStringSubmatch(src, -1) {
		if v, err := strconv.Unquote(m[2]); err == nil {
			consts[m[1]] = v
		}
	}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "//") {
			continue
		}
		if strings.Contains(line, ".Handle(") || strings.Contains(line, "PathPrefix(") {
			problems = append(problems, "cannot read the route "+line)
			continue
		}
		if !strings.Contains(line, "HandleFunc(") {
			continue
		}
		m := mxRouteRE.FindStringSubmatch(line)
		if m == nil {
			problems = append(problems, "cannot read the route "+line)
			continue
		}
		path, ok := "", true
		for _, term := range strings.Split(m[1], "+") {
			term = strings.TrimSpace(term)
			if v, err := strconv.Unquote(term); err == nil {
				path += v
			} else if v, found := consts[term]; found {
				path += v
			} else {
				problems = append(problems, fmt.Sprintf("cannot resolve %q in %s", term, line))
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, meth := range strings.Split(m[2], ",") {
			meth = strings.TrimSpace(meth)
			if name, found := strings.CutPrefix(meth, "http.Method"); found {
				meth = strings.ToUpper(name)
			} else if v, err := strconv.Unquote(meth); err == nil {
				meth = v
			} else {
				problems = append(problems, fmt.Sprintf("cannot read the method %q in %s", meth, line))
				continue
			}
			routes = append(routes, meth+" "+path)
		}
	}
	sort.Strings(routes)
	return routes, problems
}
