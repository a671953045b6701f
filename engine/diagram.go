package engine

import (
	"fmt"
	"strings"
)

// LifecycleMermaid draws Lifecycle as a Mermaid state diagram: one arrow per
// row, labelled with the event, who fires it and when. The README's diagram
// is this text, and a test keeps the two equal.
func LifecycleMermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s: create (city)\n", Draft)
	for _, t := range Lifecycle {
		by := make([]string, len(t.By))
		for i, p := range t.By {
			by[i] = string(p)
		}
		label := t.Event + " (" + strings.Join(by, ", ") + ")"
		if t.When != "" {
			label += " " + t.When
		}
		for _, from := range t.From {
			fmt.Fprintf(&b, "    %s --> %s: %s\n", from, t.To, label)
		}
	}
	for _, s := range States {
		if terminal(s) {
			fmt.Fprintf(&b, "    %s --> [*]\n", s)
		}
	}
	return b.String()
}

// CallLifecycleMermaid draws CallLifecycle as a Mermaid state diagram.
func CallLifecycleMermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s: created\n", CallPlanned)
	for _, t := range CallLifecycle {
		label := t.Event + " (secretariat)"
		switch {
		case t.At != nil && t.Deadline:
			label = t.Event + " (system once " + t.AtName + " has passed, or secretariat then)"
		case t.At != nil:
			label = t.Event + " (system at " + t.AtName + ", or secretariat from then on)"
		}
		for _, sw := range t.Sweeps {
			label += ", then " + string(sw.From) + " dossiers " + sw.Event
		}
		fmt.Fprintf(&b, "    %s --> %s: %s\n", t.From, t.To, label)
	}
	return b.String()
}

// terminal reports whether no row leaves s.
func terminal(s State) bool {
	for _, t := range Lifecycle {
		if containsState(t.From, s) {
			return false
		}
	}
	return true
}
