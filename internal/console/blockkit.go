package console

import (
	"html"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// buttonFunc renders one button of an actions block.
type buttonFunc func(b *slackapi.ButtonBlockElement) string

// blocksHTML renders Block Kit blocks, as slack.RenderCard makes them, as
// HTML: header -> h2, section -> p (its fields a two-column grid), context
// -> small text, divider -> hr, actions -> the buttons button renders. The
// card's logic stays in slack.RenderCard; this only changes the notation.
func blocksHTML(blocks []slackapi.Block, button buttonFunc) string {
	var b strings.Builder
	for _, bl := range blocks {
		switch v := bl.(type) {
		case *slackapi.HeaderBlock:
			b.WriteString(`<h2 class="bk-header">` + textHTML(v.Text) + "</h2>\n")
		case *slackapi.SectionBlock:
			b.WriteString(`<div class="bk-section">`)
			if v.Text != nil {
				b.WriteString(`<p>` + textHTML(v.Text) + `</p>`)
			}
			if len(v.Fields) > 0 {
				b.WriteString(`<div class="bk-fields">`)
				for _, f := range v.Fields {
					b.WriteString(`<div>` + textHTML(f) + `</div>`)
				}
				b.WriteString(`</div>`)
			}
			b.WriteString("</div>\n")
		case *slackapi.ContextBlock:
			b.WriteString(`<div class="bk-context">`)
			for _, el := range v.ContextElements.Elements {
				if t, ok := el.(*slackapi.TextBlockObject); ok {
					b.WriteString(`<span>` + textHTML(t) + `</span>`)
				}
			}
			b.WriteString("</div>\n")
		case *slackapi.DividerBlock:
			b.WriteString("<hr class=\"bk-divider\">\n")
		case *slackapi.ActionBlock:
			b.WriteString(`<div class="bk-actions">`)
			if v.Elements != nil {
				for _, el := range v.Elements.ElementSet {
					if btn, ok := el.(*slackapi.ButtonBlockElement); ok {
						b.WriteString(button(btn))
					}
				}
			}
			b.WriteString("</div>\n")
		default:
			b.WriteString(`<div class="bk-unknown">(a ` + html.EscapeString(string(bl.BlockType())) + " block the console does not show)</div>\n")
		}
	}
	return b.String()
}

// textHTML renders a text object: mrkdwn formatted, plain text escaped.
func textHTML(t *slackapi.TextBlockObject) string {
	if t == nil {
		return ""
	}
	if t.Type == slackapi.MarkdownType {
		return mrkdwnHTML(t.Text)
	}
	return strings.ReplaceAll(html.EscapeString(t.Text), "\n", "<br>")
}
