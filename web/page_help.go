package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"designate/engine"
)

type helpPageData struct {
	Rows []engine.Transition
	SVG  template.HTML
}

// pageHelp shows the dossier lifecycle as a table and a diagram, both drawn
// from engine.Lifecycle, the table the engine runs.
func (s *Server) pageHelp(w http.ResponseWriter, r *http.Request) {
	t := tr{lang: readerLanguage(r), c: s.catalog}
	s.render(w, r, http.StatusOK, "help", view{Title: t.S("help.title"), Data: helpPageData{Rows: engine.Lifecycle, SVG: lifecycleSVG(t)}})
}

// lifecycleSVG lays the states out in columns by their distance from
// draft and draws each move as an arrow labelled with its event.
func lifecycleSVG(t tr) template.HTML {
	depth := map[engine.State]int{engine.Draft: 0}
	order := []engine.State{engine.Draft}
	for i := 0; i < len(order); i++ {
		for _, row := range engine.Lifecycle {
			for _, from := range row.From {
				if from == order[i] {
					if _, seen := depth[row.To]; !seen {
						depth[row.To] = depth[from] + 1
						order = append(order, row.To)
					}
				}
			}
		}
	}
	const colW, rowH, boxW, boxH = 170, 70, 140, 34
	rows := map[int]int{}
	pos := map[engine.State][2]int{}
	maxCol, maxRow := 0, 0
	for _, st := range order {
		c := depth[st]
		pos[st] = [2]int{20 + c*colW, 20 + rows[c]*rowH}
		rows[c]++
		maxCol, maxRow = max(maxCol, c), max(maxRow, rows[c])
	}
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="lifecycle-title" viewBox="0 0 %d %d" class="diagram">`, 40+(maxCol+1)*colW, 40+maxRow*rowH)
	fmt.Fprintf(&b, `<title id="lifecycle-title">%s</title>`, esc(t.S("help.title")))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>`)
	for _, row := range engine.Lifecycle {
		for _, from := range row.From {
			a, z := pos[from], pos[row.To]
			x1, y1, x2, y2 := a[0]+boxW, a[1]+boxH/2, z[0], z[1]+boxH/2
			if z[0] <= a[0] { // a move back or sideways: from the box's bottom
				x1, y1, x2, y2 = a[0]+boxW/2, a[1]+boxH, z[0]+boxW/2, z[1]+boxH
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
		}
	}
	for _, st := range order {
		p := pos[st]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="#eef3fb" stroke="#1d4f91"/>`, p[0], p[1], boxW, boxH)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="13" fill="#111">%s</text>`, p[0]+boxW/2, p[1]+22, esc(t.State(st)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it is escaped above
}
