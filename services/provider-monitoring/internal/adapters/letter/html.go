package letter

import (
	"bytes"
	_ "embed"
	"html/template"
)

//go:embed letter.html.tmpl
var htmlSource string

// The template only lays out the composed document; html/template escapes every value, so
// markup in free text (motivation, names) is shown as text.
var htmlTemplate = template.Must(template.New("letter").Parse(htmlSource))

// HTML renders the letter as a standalone, printable HTML page (lang="nl", UTF-8). It returns
// the error of Validate when the letter is incomplete.
func HTML(l Letter) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, compose(l)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
