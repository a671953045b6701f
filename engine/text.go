package engine

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ValidText reports whether s is a one-line text of min to max characters:
// valid UTF-8 with no control characters, and not only spaces.
func ValidText(s string, min, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := utf8.RuneCountInString(s)
	if n < min || n > max || (min > 0 && strings.TrimSpace(s) == "") {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validLongText reports whether s is valid UTF-8 of at most max bytes with no
// control characters other than newlines and tabs (a dossier section).
func validLongText(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// WordCount counts words as the official form does: runs of non-space
// characters.
func WordCount(s string) int {
	// len(strings.Fields(s)) without the slice of every word, and without
	// decoding ASCII: a dossier's 22 KB of sections are counted at each
	// submission.
	n, inWord := 0, false
	for i := 0; i < len(s); {
		var space bool
		if c := s[i]; c < utf8.RuneSelf {
			space = c == ' ' || ('\t' <= c && c <= '\r')
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if space {
			inWord = false
		} else if !inWord {
			inWord, n = true, n+1
		}
	}
	return n
}

// Fold is s as a search compares it: lower case, accents removed, so that
// "sao" finds "São Paulo" and "ZARAGOZA" finds "Zaragoza"; letters that are
// not a base letter with a mark (ł, ı, ø, ß, æ) become what a person types
// without them, so "lodz" finds "Łódź" and "kirsehir" "Kırşehir".
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return foldLetters.Replace(b.String())
}

var foldLetters = strings.NewReplacer("ł", "l", "ı", "i", "ø", "o", "đ", "d", "ð", "d", "ħ", "h",
	"ß", "ss", "æ", "ae", "œ", "oe", "þ", "th")

// validNote reports whether s is a reason a person gives: 1 to max
// characters, lines allowed, not only spaces.
func validNote(s string, max int) bool {
	return validLongText(s, 4*max) && utf8.RuneCountInString(s) <= max && strings.TrimSpace(s) != ""
}
