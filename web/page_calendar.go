package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"designate/engine"
)

// pageCalendar is a call's phases as an iCalendar feed (RFC 5545) that a
// calendar application subscribes to: one event per phase, at its instant
// in the call's time zone, which the feed describes (VTIMEZONE) so that
// every application shows the same instant.
func (s *Server) pageCalendar(w http.ResponseWriter, r *http.Request) {
	call, err := s.svc.Call(r.Context(), mux.Vars(r)["call"])
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	t := tr{lang: readerLanguage(r), c: s.catalog}
	body, err := iCalendar(t, call)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.ics"`, call.ID))
	h.Set("Cache-Control", "public, max-age=300")
	// The feed is written in the reader's language.
	h.Set("Vary", "Accept-Language, Cookie")
	_, _ = w.Write(body)
}

// iCalendar writes the call's calendar. Each event's UID depends only on
// the call and the phase, so a calendar that fetches the feed again (under
// any host name) updates its events instead of adding copies.
func iCalendar(t tr, call *engine.Call) ([]byte, error) {
	loc, err := time.LoadLocation(call.TimeZone)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	line := func(s string) { b.WriteString(foldLine(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//designate//designation calls//" + strings.ToUpper(t.lang))
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + icalText(call.Title))
	line("X-WR-TIMEZONE:" + call.TimeZone)
	steps := timeline(t, call, time.Time{}).Phases
	first, last := steps[0].At, steps[len(steps)-1].At
	for _, l := range vtimezone(loc, first, last) {
		line(l)
	}
	stamp := call.UpdatedAt.UTC().Format("20060102T150405Z")
	for i, p := range steps {
		line("BEGIN:VEVENT")
		line(fmt.Sprintf("UID:%s-phase-%d@designate", call.ID, i+1))
		line("DTSTAMP:" + stamp)
		// An instant: no DTEND (RFC 5545, 3.6.1). A local time the zone
		// has twice (the hour repeated in autumn) is read as the first, so
		// the second is written in UTC.
		if repeatedLocalTime(p.At, loc) {
			line("DTSTART:" + p.At.UTC().Format("20060102T150405Z"))
		} else {
			line("DTSTART;TZID=" + call.TimeZone + ":" + p.At.In(loc).Format("20060102T150405"))
		}
		line("SUMMARY:" + icalText(p.Name+" · "+call.Title))
		line("DESCRIPTION:" + icalText(p.When))
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes(), nil
}

// vtimezone describes the zone's offsets over the calendar's span: the
// offset in force at its start, and every change (daylight saving) up to
// its end, each as an observance with its own DTSTART and no rule, which
// RFC 5545 allows and every application reads.
func vtimezone(loc *time.Location, from, to time.Time) []string {
	out := []string{"BEGIN:VTIMEZONE", "TZID:" + loc.String()}
	observance := func(at time.Time, fromOff, toOff int) {
		name, _ := at.In(loc).Zone()
		kind := "STANDARD"
		if at.In(loc).IsDST() {
			kind = "DAYLIGHT"
		}
		out = append(out, "BEGIN:"+kind,
			"DTSTART:"+at.In(time.FixedZone("", fromOff)).Format("20060102T150405"),
			"TZOFFSETFROM:"+icalOffset(fromOff), "TZOFFSETTO:"+icalOffset(toOff), "TZNAME:"+icalText(name), "END:"+kind)
	}
	start := from.AddDate(0, 0, -1)
	_, off := start.In(loc).Zone()
	observance(start.Truncate(time.Hour), off, off)
	// Offsets change on the hour or half-hour: step an hour at a time and
	// narrow each change down to the minute.
	for at := start; at.Before(to.AddDate(0, 0, 1)); at = at.Add(time.Hour) {
		_, next := at.Add(time.Hour).In(loc).Zone()
		if next == off {
			continue
		}
		lo, hi := at, at.Add(time.Hour)
		for hi.Sub(lo) > time.Minute {
			mid := lo.Add(hi.Sub(lo) / 2)
			if _, o := mid.In(loc).Zone(); o == off {
				lo = mid
			} else {
				hi = mid
			}
		}
		observance(hi.Truncate(time.Minute), off, next)
		off = next
	}
	return append(out, "END:VTIMEZONE")
}

// repeatedLocalTime reports whether another instant near at shows the same
// wall-clock time in loc (the hour a zone repeats when its clocks go back).
func repeatedLocalTime(at time.Time, loc *time.Location) bool {
	_, off := at.In(loc).Zone()
	for _, near := range []time.Time{at.Add(-3 * time.Hour), at.Add(3 * time.Hour)} {
		_, other := near.In(loc).Zone()
		if other == off {
			continue
		}
		// The instant whose wall clock under the other offset reads as at's.
		twin := at.Add(time.Duration(off-other) * time.Second)
		if _, o := twin.In(loc).Zone(); o == other {
			return true
		}
	}
	return false
}

func icalOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec%3600/60)
}

// icalText escapes a TEXT value (RFC 5545, 3.3.11).
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// foldLine ends a content line with CRLF, folded so no line is longer than
// 75 octets, never inside a UTF-8 character (RFC 5545, 3.1).
func foldLine(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	b.WriteString("\r\n")
	return b.String()
}
