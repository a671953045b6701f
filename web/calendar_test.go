package web

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"designate/engine"
)

// The calendar feed (RFC 5545) as a calendar application reads it: the
// test parses the bytes iCalendar writes (CRLF lines of at most 75 octets,
// folded, unfolded; TEXT escaped; components nested), reads the VTIMEZONE's
// observances, and resolves every event's local DTSTART through them, as an
// application without the IANA database would, back to an instant.

// calLine is one unfolded content line: its name, parameters and value.
type calLine struct {
	Name   string
	Params map[string]string
	Value  string
}

// calComp is a component (VCALENDAR, VTIMEZONE, STANDARD, VEVENT...) with
// its properties in order and its sub-components.
type calComp struct {
	Name  string
	Props []calLine
	Subs  []*calComp
}

// prop is the value of the component's one property name ("" if none);
// a property found twice fails the test.
func (c *calComp) prop(t *testing.T, name string) calLine {
	t.Helper()
	var out []calLine
	for _, p := range c.Props {
		if p.Name == name {
			out = append(out, p)
		}
	}
	if len(out) > 1 {
		t.Fatalf("%s has %d %s properties", c.Name, len(out), name)
	}
	if len(out) == 0 {
		return calLine{}
	}
	return out[0]
}

// subs are the sub-components named name.
func (c *calComp) subs(name string) []*calComp {
	var out []*calComp
	for _, s := range c.Subs {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// calParse checks the octets of a feed (CRLF endings only, every physical
// line at most 75 octets and whole UTF-8, continuation lines starting with
// one space), unfolds it and returns the VCALENDAR and the unfolded lines.
func calParse(t *testing.T, raw []byte) (*calComp, []string) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Fatalf("the feed does not end with CRLF: %q", raw[max(0, len(raw)-20):])
	}
	physical := strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n")
	var logical []string
	for i, l := range physical {
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > 75 {
			t.Errorf("line %d is %d octets long, more than 75: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not whole UTF-8 (folding split a character): %q", i+1, l)
		}
		if l == "" {
			t.Errorf("line %d is empty", i+1)
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(logical) == 0 {
				t.Fatalf("the feed starts with a continuation line")
			}
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var stack []*calComp
	var root *calComp
	for _, l := range logical {
		cl := calSplit(t, l)
		switch cl.Name {
		case "BEGIN":
			c := &calComp{Name: cl.Value}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.Subs = append(top.Subs, c)
			} else if root != nil {
				t.Fatalf("a second top-level component %s", cl.Value)
			} else {
				root = c
			}
			stack = append(stack, c)
		case "END":
			if len(stack) == 0 || stack[len(stack)-1].Name != cl.Value {
				t.Fatalf("END:%s does not close the open component", cl.Value)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(stack) == 0 {
				t.Fatalf("property outside any component: %q", l)
			}
			top := stack[len(stack)-1]
			top.Props = append(top.Props, cl)
		}
	}
	if root == nil || root.Name != "VCALENDAR" || len(stack) != 0 {
		t.Fatalf("the feed is not one whole VCALENDAR")
	}
	return root, logical
}

// calSplit reads "NAME;P=V;Q=W:value" (no parameter of the feed holds a
// colon or a quoted value).
func calSplit(t *testing.T, l string) calLine {
	t.Helper()
	head, value, ok := strings.Cut(l, ":")
	if !ok {
		t.Fatalf("content line without a colon: %q", l)
	}
	parts := strings.Split(head, ";")
	cl := calLine{Name: parts[0], Params: map[string]string{}, Value: value}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			t.Fatalf("parameter without a value in %q", l)
		}
		cl.Params[k] = v
	}
	return cl
}

// calUnescape reads a TEXT value (RFC 5545, 3.3.11), failing on an escape
// the RFC does not have or a character it requires escaped.
func calUnescape(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 == len(s) {
				t.Fatalf("TEXT %q ends with a lone backslash", s)
			}
			i++
			switch s[i] {
			case '\\', ';', ',':
				b.WriteByte(s[i])
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				t.Fatalf("TEXT %q has the escape \\%c", s, s[i])
			}
		case ';', ',':
			t.Fatalf("TEXT %q has an unescaped %q", s, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// calObservance is one STANDARD or DAYLIGHT of a VTIMEZONE.
type calObservance struct {
	Kind, Start, From, To, Name string
}

// observances reads the VTIMEZONE of zone, in order.
func calObservances(t *testing.T, cal *calComp, zone string) []calObservance {
	t.Helper()
	tzs := cal.subs("VTIMEZONE")
	if len(tzs) != 1 {
		t.Fatalf("%d VTIMEZONE components, want 1", len(tzs))
	}
	tz := tzs[0]
	if id := tz.prop(t, "TZID").Value; id != zone {
		t.Fatalf("VTIMEZONE TZID %q, want %q", id, zone)
	}
	var out []calObservance
	for _, s := range tz.Subs {
		if s.Name != "STANDARD" && s.Name != "DAYLIGHT" {
			t.Fatalf("VTIMEZONE has a %s", s.Name)
		}
		out = append(out, calObservance{Kind: s.Name, Start: s.prop(t, "DTSTART").Value, From: s.prop(t, "TZOFFSETFROM").Value,
			To: s.prop(t, "TZOFFSETTO").Value, Name: calUnescape(t, s.prop(t, "TZNAME").Value)})
	}
	return out
}

// calOffset reads "+0530" or "-0330" as seconds east of UTC.
func calOffset(t *testing.T, s string) int {
	t.Helper()
	var h, m int
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		t.Fatalf("UTC offset %q", s)
	}
	if _, err := fmt.Sscanf(s[1:], "%02d%02d", &h, &m); err != nil {
		t.Fatalf("UTC offset %q: %v", s, err)
	}
	sec := h*3600 + m*60
	if s[0] == '-' {
		sec = -sec
	}
	return sec
}

// calLocal reads a local DATE-TIME ("20270328T020000", no Z).
func calLocal(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse("20060102T150405", s)
	if err != nil {
		t.Fatalf("local DATE-TIME %q: %v", s, err)
	}
	return at
}

// calResolve is the instant a local time names under the observances, as
// RFC 5545 (3.3.5) has an application read it: the observance in force is
// the last one whose onset (its DTSTART, local time in its TZOFFSETFROM)
// is not after the instant; a local time that occurs twice names the
// first occurrence.
func calResolve(t *testing.T, obs []calObservance, local time.Time) time.Time {
	t.Helper()
	var found []time.Time
	for i, o := range obs {
		at := local.Add(-time.Duration(calOffset(t, o.To)) * time.Second)
		onset := calLocal(t, o.Start).Add(-time.Duration(calOffset(t, o.From)) * time.Second)
		var next *time.Time
		if i+1 < len(obs) {
			n := calLocal(t, obs[i+1].Start).Add(-time.Duration(calOffset(t, obs[i+1].From)) * time.Second)
			next = &n
		}
		if !at.Before(onset) && (next == nil || at.Before(*next)) {
			found = append(found, at)
		}
	}
	if len(found) == 0 {
		t.Fatalf("local time %s is not covered by the VTIMEZONE %+v", local.Format("20060102T150405"), obs)
	}
	slices.SortFunc(found, func(a, b time.Time) int { return a.Compare(b) })
	return found[0]
}

// calCall is a call in zone whose phases are the instants given, in that
// zone's wall time (year, month, day, hour, minute each); the grace is
// 30 minutes.
func calCall(t *testing.T, id, title, zone string, opens, deadline, endorse, evaluate, announce [5]int) *engine.Call {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	at := func(v [5]int) time.Time { return time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], 0, 0, loc) }
	return &engine.Call{ID: id, Title: title, TimeZone: zone,
		OpensAt: at(opens), SubmissionDeadline: at(deadline), Grace: engine.Duration(30 * time.Minute),
		EndorsementDeadline: at(endorse), EvaluationDeadline: at(evaluate), AnnouncementAt: at(announce),
		CreatedAt: time.Date(2027, 1, 5, 8, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2027, 2, 3, 16, 4, 5, 0, time.UTC)}
}

// calPhases are the call's six instants, in the feed's order.
func calPhases(c *engine.Call) []time.Time {
	return []time.Time{c.OpensAt, c.SubmissionDeadline, c.Close(), c.EndorsementDeadline, c.EvaluationDeadline, c.AnnouncementAt}
}

// calRender is the feed of the call for a reader of lang.
func calRender(t *testing.T, lang string, c *engine.Call) []byte {
	t.Helper()
	cat, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := iCalendar(tr{lang: lang, c: cat}, c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// calCheckEvents asserts the events of a feed: one per phase in order,
// each with its stable UID, DTSTAMP the call's last change in UTC, and a
// DTSTART in the call's zone whose local time is the phase's wall time
// there and resolves, through the feed's own VTIMEZONE, to the phase's
// instant.
func calCheckEvents(t *testing.T, cal *calComp, c *engine.Call, obs []calObservance) []*calComp {
	t.Helper()
	loc, _ := time.LoadLocation(c.TimeZone)
	events := cal.subs("VEVENT")
	phases := calPhases(c)
	if len(events) != len(phases) {
		t.Fatalf("%d VEVENTs, want one per phase (%d)", len(events), len(phases))
	}
	for i, ev := range events {
		if uid := ev.prop(t, "UID").Value; uid != fmt.Sprintf("%s-phase-%d@designate", c.ID, i+1) {
			t.Errorf("event %d: UID %q", i+1, uid)
		}
		if st := ev.prop(t, "DTSTAMP").Value; st != c.UpdatedAt.UTC().Format("20060102T150405Z") {
			t.Errorf("event %d: DTSTAMP %q", i+1, st)
		}
		start := ev.prop(t, "DTSTART")
		if start.Params["TZID"] != c.TimeZone || len(start.Params) != 1 {
			t.Errorf("event %d: DTSTART parameters %v, want TZID=%s", i+1, start.Params, c.TimeZone)
		}
		if want := phases[i].In(loc).Format("20060102T150405"); start.Value != want {
			t.Errorf("event %d: DTSTART %s, want the phase's local time %s", i+1, start.Value, want)
		}
		if got := calResolve(t, obs, calLocal(t, start.Value)); !got.Equal(phases[i]) {
			t.Errorf("event %d: DTSTART %s reads, through the VTIMEZONE, as %s; the phase is %s", i+1, start.Value, got.UTC(), phases[i].UTC())
		}
		if local, err := time.ParseInLocation("20060102T150405", start.Value, loc); err != nil || !local.Equal(phases[i]) {
			t.Errorf("event %d: DTSTART %s in %s is %s, want %s", i+1, start.Value, c.TimeZone, local.UTC(), phases[i].UTC())
		}
	}
	return events
}

// A call in Paris from mid-March to September: the feed's VTIMEZONE has
// the winter offset in force at its start and the change to summer time on
// 28 March 2027 at 02:00 local (01:00 UTC), +0100 to +0200, and no other;
// every event's local DTSTART is the phase's instant there, before and
// after the change.
func TestCalendar_ParisAcrossTheMarchChange(t *testing.T) {
	c := calCall(t, "uccn-2027", "Creative Cities 2027", "Europe/Paris",
		[5]int{2027, 3, 15, 9, 0}, [5]int{2027, 4, 30, 23, 59}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 7, 31, 23, 59}, [5]int{2027, 9, 1, 10, 0})
	cal, _ := calParse(t, calRender(t, "en", c))
	for name, want := range map[string]string{"VERSION": "2.0", "CALSCALE": "GREGORIAN", "METHOD": "PUBLISH",
		"PRODID": "-//designate//designation calls//EN", "X-WR-TIMEZONE": "Europe/Paris"} {
		if got := cal.prop(t, name).Value; got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	obs := calObservances(t, cal, "Europe/Paris")
	want := []calObservance{
		{"STANDARD", "20270314T090000", "+0100", "+0100", "CET"},
		{"DAYLIGHT", "20270328T020000", "+0100", "+0200", "CEST"},
	}
	if !slices.Equal(obs, want) {
		t.Fatalf("observances\n%+v\nwant\n%+v", obs, want)
	}
	if onset := calLocal(t, obs[1].Start).Add(-time.Hour); !onset.Equal(time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("summer time begins at %s UTC", onset)
	}
	events := calCheckEvents(t, cal, c, obs)
	// The opening is in winter time, the deadline in summer time.
	if events[0].prop(t, "DTSTART").Value != "20270315T090000" || events[1].prop(t, "DTSTART").Value != "20270430T235900" ||
		events[2].prop(t, "DTSTART").Value != "20270501T002900" {
		t.Errorf("opening, deadline and close at %s, %s, %s", events[0].prop(t, "DTSTART").Value,
			events[1].prop(t, "DTSTART").Value, events[2].prop(t, "DTSTART").Value)
	}
	// The summaries name the phase and the call, the descriptions the
	// phase's time as the pages write it.
	cat, _ := loadCatalog()
	en := tr{lang: "en", c: cat}
	for i, key := range []string{"phase.opens", "phase.deadline", "phase.close", "phase.endorsement", "phase.evaluation", "phase.announcement"} {
		if got, want := calUnescape(t, events[i].prop(t, "SUMMARY").Value), en.S(key)+" · "+c.Title; got != want {
			t.Errorf("event %d: SUMMARY %q, want %q", i+1, got, want)
		}
		if got, want := calUnescape(t, events[i].prop(t, "DESCRIPTION").Value), en.When(calPhases(c)[i], c.TimeZone); got != want {
			t.Errorf("event %d: DESCRIPTION %q, want %q", i+1, got, want)
		}
	}
}

// A call from March to November in Paris has both changes: to summer time
// in March and back on 31 October at 03:00 summer time (01:00 UTC),
// +0200 to +0100; an event after the change back is in winter time.
func TestCalendar_ParisBothChanges(t *testing.T) {
	c := calCall(t, "uccn-long", "A long call", "Europe/Paris",
		[5]int{2027, 3, 1, 9, 0}, [5]int{2027, 6, 30, 12, 0}, [5]int{2027, 8, 31, 12, 0}, [5]int{2027, 10, 15, 12, 0}, [5]int{2027, 11, 15, 10, 0})
	cal, _ := calParse(t, calRender(t, "fr", c))
	obs := calObservances(t, cal, "Europe/Paris")
	want := []calObservance{
		{"STANDARD", "20270228T090000", "+0100", "+0100", "CET"},
		{"DAYLIGHT", "20270328T020000", "+0100", "+0200", "CEST"},
		{"STANDARD", "20271031T030000", "+0200", "+0100", "CET"},
	}
	if !slices.Equal(obs, want) {
		t.Fatalf("observances\n%+v\nwant\n%+v", obs, want)
	}
	events := calCheckEvents(t, cal, c, obs)
	if got := events[5].prop(t, "DTSTART").Value; got != "20271115T100000" {
		t.Errorf("the announcement at %s, want 20271115T100000", got)
	}
	if got := cal.prop(t, "PRODID").Value; got != "-//designate//designation calls//FR" {
		t.Errorf("PRODID %q", got)
	}
	// In French, the month and the zone's abbreviation.
	if got := calUnescape(t, events[5].prop(t, "DESCRIPTION").Value); got != "15 novembre 2027, 10:00 (CET)" {
		t.Errorf("the French description of the announcement is %q", got)
	}
}

// Zones without daylight saving: Tokyo (+0900) and Kolkata (+0530, a half
// hour) have one observance, STANDARD, whose offsets are the zone's, and
// the events' local times are the phases' there.
func TestCalendar_ZonesWithoutDaylightSaving(t *testing.T) {
	for _, z := range []struct {
		zone, offset, name string
		start              string
	}{
		// The span starts a day before the opening, on the hour (UTC).
		{"Asia/Tokyo", "+0900", "JST", "20270314T090000"},
		{"Asia/Kolkata", "+0530", "IST", "20270314T083000"},
	} {
		t.Run(z.zone, func(t *testing.T) {
			c := calCall(t, "uccn-asia", "Asian call", z.zone,
				[5]int{2027, 3, 15, 9, 0}, [5]int{2027, 4, 30, 23, 59}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 7, 31, 23, 59}, [5]int{2027, 12, 1, 10, 0})
			cal, _ := calParse(t, calRender(t, "en", c))
			obs := calObservances(t, cal, z.zone)
			want := []calObservance{{"STANDARD", z.start, z.offset, z.offset, z.name}}
			if !slices.Equal(obs, want) {
				t.Fatalf("observances %+v, want %+v", obs, want)
			}
			events := calCheckEvents(t, cal, c, obs)
			if got := events[1].prop(t, "DTSTART").Value; got != "20270430T235900" {
				t.Errorf("deadline at %s local, want 20270430T235900", got)
			}
		})
	}
}

// Offsets that are not whole hours, west of UTC and in the change itself:
// St John's (-0330, summer -0230, from 14 March 02:00 local) and Lord Howe
// Island, whose clocks go back only half an hour (+1100 to +1030, on 4 April
// at 02:00 local, 15:00 UTC the day before).
func TestCalendar_HalfHourOffsetsAndChanges(t *testing.T) {
	for _, z := range []struct {
		zone string
		want []calObservance
	}{
		{"America/St_Johns", []calObservance{
			{"STANDARD", "20270301T083000", "-0330", "-0330", "NST"},
			{"DAYLIGHT", "20270314T020000", "-0330", "-0230", "NDT"},
		}},
		{"Australia/Lord_Howe", []calObservance{
			{"DAYLIGHT", "20270301T090000", "+1100", "+1100", "+11"},
			{"STANDARD", "20270404T020000", "+1100", "+1030", "+1030"},
		}},
	} {
		t.Run(z.zone, func(t *testing.T) {
			// The span begins a day before the opening, on a whole UTC hour:
			// 08:30 in St John's, 09:00 on Lord Howe Island.
			c := calCall(t, "uccn-half", "Half-hour call", z.zone, [5]int{2027, 3, 2, 9, 0},
				[5]int{2027, 4, 20, 12, 0}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 6, 30, 23, 59}, [5]int{2027, 7, 1, 10, 0})
			cal, _ := calParse(t, calRender(t, "en", c))
			obs := calObservances(t, cal, z.zone)
			if !slices.Equal(obs, z.want) {
				t.Fatalf("observances\n%+v\nwant\n%+v", obs, z.want)
			}
			calCheckEvents(t, cal, c, obs)
		})
	}
}

// Long lines are folded at 75 octets, never inside a UTF-8 character, and
// unfold to exactly the text: a French title with accents, guillemets and
// a few four-octet characters, long enough to be folded several times at
// every possible offset; TEXT escapes commas, semicolons, backslashes and
// newlines.
func TestCalendar_FoldingAndTextEscaping(t *testing.T) {
	title := "Appel à candidatures 2027 du Réseau des villes créatives : « Ville créative de la gastronomie », " +
		"éditions spéciales; dossiers déposés à Saint-Étienne, Łódź et Kırşehir \\ clôture à l'échéance\nsecond line 𝄞𝄞 ééééééééé"
	c := calCall(t, "uccn-fold", title, "Europe/Paris",
		[5]int{2027, 3, 15, 9, 0}, [5]int{2027, 4, 30, 23, 59}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 7, 31, 23, 59}, [5]int{2027, 9, 1, 10, 0})
	raw := calRender(t, "fr", c)
	cal, logical := calParse(t, raw)
	if got := calUnescape(t, cal.prop(t, "X-WR-CALNAME").Value); got != title {
		t.Errorf("X-WR-CALNAME unfolds and unescapes to\n%q\nwant\n%q", got, title)
	}
	for _, ev := range cal.subs("VEVENT") {
		if got := calUnescape(t, ev.prop(t, "SUMMARY").Value); !strings.HasSuffix(got, " · "+title) {
			t.Errorf("SUMMARY %q does not end with the title", got)
		}
	}
	// The escaped title as written: each special character escaped once.
	for _, l := range logical {
		if v, ok := strings.CutPrefix(l, "X-WR-CALNAME:"); ok {
			for _, want := range []string{`gastronomie »\,`, `spéciales\;`, `Kırşehir \\ clôture`, `l'échéance\nsecond`} {
				if !strings.Contains(v, want) {
					t.Errorf("X-WR-CALNAME %q lacks %q", v, want)
				}
			}
		}
	}
	folded := 0
	for _, l := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(l, " ") {
			folded++
		}
	}
	if folded < 6*3 {
		t.Errorf("only %d continuation lines: the long lines were not folded", folded)
	}

	// foldLine itself: at every offset of a multi-octet character, a line
	// of exactly 75 octets is not folded, one more is, and no physical line
	// ends inside a character.
	for _, ch := range []string{"é", "€", "𝄞"} {
		for pad := 0; pad < 8; pad++ {
			s := "SUMMARY:" + strings.Repeat("x", pad) + strings.Repeat(ch, 60)
			out := foldLine(s)
			if !strings.HasSuffix(out, "\r\n") {
				t.Fatalf("foldLine(%q) does not end with CRLF", s)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			var back strings.Builder
			for i, l := range lines {
				if len(l) > 75 || !utf8.ValidString(l) || (i > 0 && !strings.HasPrefix(l, " ")) {
					t.Fatalf("foldLine(%q): line %d is %q (%d octets)", s, i, l, len(l))
				}
				if i > 0 {
					l = l[1:]
				}
				back.WriteString(l)
				// A line is folded only when the next character would not fit.
				if i < len(lines)-1 {
					next, _ := utf8.DecodeRuneInString(lines[i+1][1:])
					if len(lines[i])+utf8.RuneLen(next) <= 75 {
						t.Errorf("foldLine(%q): line %d folded at %d octets though %q fits", s, i, len(lines[i]), next)
					}
				}
			}
			if back.String() != s {
				t.Fatalf("foldLine(%q) unfolds to %q", s, back.String())
			}
		}
	}
	for _, n := range []int{74, 75} {
		if s := strings.Repeat("a", n); foldLine(s) != s+"\r\n" {
			t.Errorf("a line of %d octets is folded: %q", n, foldLine(s))
		}
	}
	if got := foldLine(strings.Repeat("a", 76)); got != strings.Repeat("a", 75)+"\r\n a\r\n" {
		t.Errorf("a line of 76 octets folds as %q", got)
	}

	for in, want := range map[string]string{
		`a,b;c\d`:      `a\,b\;c\\d`,
		"one\ntwo":     `one\ntwo`,
		"one\r\ntwo":   `one\ntwo`,
		"one\rtwo":     `one\ntwo`,
		`\n is not LF`: `\\n is not LF`,
		"Łódź: x":      "Łódź: x",
	} {
		if got := icalText(in); got != want {
			t.Errorf("icalText(%q) = %q, want %q", in, got, want)
		}
	}
}

// The feed is the same bytes at every fetch (the UIDs, the DTSTAMP, the
// order), so a calendar updates its events rather
// than adding copies; each phase has its own UID; another call's UIDs are
// its own.
func TestCalendar_StableUIDs(t *testing.T) {
	c := calCall(t, "uccn-2027", "Creative Cities 2027", "Europe/Paris",
		[5]int{2027, 3, 15, 9, 0}, [5]int{2027, 4, 30, 23, 59}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 7, 31, 23, 59}, [5]int{2027, 9, 1, 10, 0})
	first := calRender(t, "en", c)
	second := calRender(t, "en", c)
	if !bytes.Equal(first, second) {
		t.Fatalf("two renders differ:\n%s\n---\n%s", first, second)
	}
	uids := func(raw []byte) []string {
		cal, _ := calParse(t, raw)
		var out []string
		for _, ev := range cal.subs("VEVENT") {
			out = append(out, ev.prop(t, "UID").Value)
		}
		return out
	}
	got := uids(first)
	if len(got) != 6 || len(slices.Compact(slices.Sorted(slices.Values(got)))) != 6 {
		t.Fatalf("UIDs %v, want six distinct ones", got)
	}
	// The French feed of the same call updates the same events.
	if fr := uids(calRender(t, "fr", c)); !slices.Equal(fr, got) {
		t.Errorf("French UIDs %v, English %v", fr, got)
	}
	other := *c
	other.ID = "uccn-2029"
	for _, u := range uids(calRender(t, "en", &other)) {
		if slices.Contains(got, u) {
			t.Errorf("the UID %s is in two calls' feeds", u)
		}
	}
}

// An event is an instant: RFC 5545 (3.8.2.2) requires a DTEND later than
// the DTSTART, so a feed of instants either gives no DTEND (the event then
// ends when it starts, 3.6.1) or a later one.
func TestCalendar_NoEventEndsWhenItStarts(t *testing.T) {
	c := calCall(t, "uccn-2027", "Creative Cities 2027", "Europe/Paris",
		[5]int{2027, 3, 15, 9, 0}, [5]int{2027, 4, 30, 23, 59}, [5]int{2027, 5, 31, 23, 59}, [5]int{2027, 7, 31, 23, 59}, [5]int{2027, 9, 1, 10, 0})
	cal, _ := calParse(t, calRender(t, "en", c))
	obs := calObservances(t, cal, c.TimeZone)
	for i, ev := range calCheckEvents(t, cal, c, obs) {
		end := ev.prop(t, "DTEND")
		if end.Name == "" {
			continue
		}
		start := ev.prop(t, "DTSTART")
		if !calResolve(t, obs, calLocal(t, end.Value)).After(calResolve(t, obs, calLocal(t, start.Value))) {
			t.Errorf("event %d: DTEND %s is not later than DTSTART %s", i+1, end.Value, start.Value)
		}
	}
}

// A phase in the hour that the change back to winter time repeats (02:00
// and 02:30 on 31 October 2027 in Paris happen twice: 00:00 and 00:30 UTC in
// summer time, 01:00 and 01:30 UTC in winter time) must still
// name its own instant: RFC 5545 (3.3.5) reads a repeated local time as its
// first occurrence, so the second one cannot be written as local time with
// a TZID and needs another form (UTC, for one).
func TestCalendar_APhaseInTheRepeatedHour(t *testing.T) {
	c := calCall(t, "uccn-autumn", "Autumn call", "Europe/Paris",
		[5]int{2027, 9, 1, 9, 0}, [5]int{2027, 10, 31, 0, 0}, [5]int{2027, 11, 30, 23, 59}, [5]int{2027, 12, 15, 23, 59}, [5]int{2028, 1, 10, 10, 0})
	c.SubmissionDeadline = time.Date(2027, 10, 31, 1, 0, 0, 0, time.UTC) // 02:00 CET, the second 02:00; the close at 02:30 CET
	cal, _ := calParse(t, calRender(t, "en", c))
	obs := calObservances(t, cal, c.TimeZone)
	phases := calPhases(c)
	for i, ev := range cal.subs("VEVENT") {
		start := ev.prop(t, "DTSTART")
		var at time.Time
		if strings.HasSuffix(start.Value, "Z") {
			at, _ = time.Parse("20060102T150405Z", start.Value)
		} else {
			at = calResolve(t, obs, calLocal(t, start.Value))
		}
		if !at.Equal(phases[i]) {
			t.Errorf("event %d: DTSTART %v %s reads as %s; the phase is %s", i+1, start.Params, start.Value,
				at.UTC().Format(time.RFC3339), phases[i].UTC().Format(time.RFC3339))
		}
	}
}
