package slack

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
)

// Block Kit's limits on a message (docs.slack.dev, Block Kit reference:
// blocks, block elements, composition objects; chat.postMessage). Every
// text medic sends to Slack goes through the builders in this file, which
// keep to them; Message.Check verifies a rendered message against them.
//
// Lengths are measured in bytes of UTF-8, never fewer than the characters
// Slack counts (code points or UTF-16 units), so a cut text fits whichever
// Slack means.
const (
	// MaxBlocks is the number of blocks a message may hold.
	MaxBlocks = 50

	maxHeaderText      = 150  // header block: its plain_text
	maxSectionText     = 3000 // section block: its text
	maxSectionFields   = 10   // section block: fields
	maxFieldText       = 2000 // section block: each field's text
	maxContextElements = 10   // context block: elements
	maxContextText     = 3000 // a text object, as in a context block
	maxActionsElements = 25   // actions block: elements
	maxButtonText      = 75   // button: its plain_text
	maxButtonValue     = 2000 // button: value
	maxActionID        = 255  // any element's action_id
	maxConfirmTitle    = 100  // confirmation dialog: title
	maxConfirmText     = 300  // confirmation dialog: text
	maxConfirmButton   = 30   // confirmation dialog: confirm and deny
	// maxFallbackText bounds the message's top-level text (notifications and
	// the fallback). Slack's chat.postMessage reference advises keeping it to
	// 4,000 characters, and longer text has been refused (msg_too_long);
	// medic keeps a margin.
	maxFallbackText = 3000
	// maxMessageText bounds the text of all a message's blocks together.
	// Slack refuses more with msg_blocks_too_long; the limit is not
	// documented (Slack's staff have cited 12,000 characters including a
	// buffer for the blocks themselves, and messages of 11,341 characters
	// of text have been refused), so medic keeps well under it.
	maxMessageText = 8000
)

// MaxActionableSteps is how many steps with buttons a card always keeps
// with their buttons, whatever else it shows: the header, the paused
// banner, the summary fields and one section of collapsed steps take four
// blocks, and each such step two (its text and its buttons). Steps beyond
// it are counted in a note instead; `medic policy lint` warns of policy
// sets that could get there.
const MaxActionableSteps = (MaxBlocks - 4) / 2

// ellipsis ends every cut text.
const ellipsis = "…"

// cutPlain cuts plain text s to at most n bytes on a rune boundary, ending
// in an ellipsis when anything was cut.
func cutPlain(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := runeStart(s, n-len(ellipsis))
	return s[:cut] + ellipsis
}

// cutMrkdwn cuts mrkdwn s to at most n bytes, ending in an ellipsis when
// anything was cut. It never cuts a rune, an escape (&amp; &lt; &gt;) or a
// <…> construct (mention, link, date) in two: the cut moves before it.
func cutMrkdwn(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := runeStart(s, n-len(ellipsis))
	if i := strings.LastIndexByte(s[:cut], '&'); i >= 0 {
		for _, esc := range []string{"&amp;", "&lt;", "&gt;"} {
			if strings.HasPrefix(s[i:], esc) && i+len(esc) > cut {
				cut = i
				break
			}
		}
	}
	if i := strings.LastIndexByte(s[:cut], '<'); i >= 0 && !strings.Contains(s[i:cut], ">") {
		cut = i
	}
	return s[:cut] + ellipsis
}

// runeStart is the largest rune boundary of s at or before n (n >= 0).
func runeStart(s string, n int) int {
	if n <= 0 {
		return 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// orDash keeps a text object from being empty, which Slack refuses.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func plainObj(s string, n int) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, cutPlain(orDash(s), n), true, false)
}

func mrkdwnObj(s string, n int) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, cutMrkdwn(orDash(s), n), false, false)
}

// headerBlock is a header with plain text.
func headerBlock(text string) *slackapi.HeaderBlock {
	return slackapi.NewHeaderBlock(plainObj(text, maxHeaderText))
}

// sectionBlock is a section with mrkdwn text.
func sectionBlock(text string) *slackapi.SectionBlock {
	return slackapi.NewSectionBlock(mrkdwnObj(text, maxSectionText), nil, nil)
}

// fieldsBlock is a section of mrkdwn fields (at most maxSectionFields are
// kept); nil when there are none.
func fieldsBlock(fields []string) *slackapi.SectionBlock {
	if len(fields) == 0 {
		return nil
	}
	fields = fields[:min(len(fields), maxSectionFields)]
	objs := make([]*slackapi.TextBlockObject, len(fields))
	for i, f := range fields {
		objs[i] = mrkdwnObj(f, maxFieldText)
	}
	return slackapi.NewSectionBlock(nil, objs, nil)
}

// contextBlock is a context of mrkdwn texts (at most maxContextElements).
func contextBlock(texts ...string) *slackapi.ContextBlock {
	texts = texts[:min(len(texts), maxContextElements)]
	els := make([]slackapi.MixedElement, len(texts))
	for i, t := range texts {
		els[i] = mrkdwnObj(t, maxContextText)
	}
	return slackapi.NewContextBlock("", els...)
}

// actionsBlock holds buttons (at most maxActionsElements); nil when there
// are none.
func actionsBlock(buttons []*slackapi.ButtonBlockElement) *slackapi.ActionBlock {
	if len(buttons) == 0 {
		return nil
	}
	buttons = buttons[:min(len(buttons), maxActionsElements)]
	els := make([]slackapi.BlockElement, len(buttons))
	for i, b := range buttons {
		els[i] = b
	}
	return slackapi.NewActionBlock("", els...)
}

// button is a button whose value comes back in the click. A value that
// Slack would refuse (empty or too long) or an action ID too long gives no
// button (nil): a cut value would name something else.
func button(actionID, value, text string, style slackapi.Style) *slackapi.ButtonBlockElement {
	if value == "" || len(value) > maxButtonValue || actionID == "" || len(actionID) > maxActionID {
		return nil
	}
	b := slackapi.NewButtonBlockElement(actionID, value, plainObj(text, maxButtonText))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

// confirmDialog is the dialog a button asks before it acts.
func confirmDialog(title, text, confirm, deny string) *slackapi.ConfirmationBlockObject {
	return slackapi.NewConfirmationBlockObject(
		plainObj(title, maxConfirmTitle),
		plainObj(text, maxConfirmText),
		plainObj(confirm, maxConfirmButton),
		plainObj(deny, maxConfirmButton),
	)
}

// textObjects returns every text object in blocks, with whether it is
// mrkdwn.
func textObjects(blocks []slackapi.Block) []*slackapi.TextBlockObject {
	var out []*slackapi.TextBlockObject
	add := func(ts ...*slackapi.TextBlockObject) {
		for _, t := range ts {
			if t != nil {
				out = append(out, t)
			}
		}
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slackapi.HeaderBlock:
			add(b.Text)
		case *slackapi.SectionBlock:
			add(b.Text)
			add(b.Fields...)
		case *slackapi.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slackapi.TextBlockObject); ok {
					add(t)
				}
			}
		case *slackapi.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slackapi.ButtonBlockElement); ok {
					add(btn.Text)
					if c := btn.Confirm; c != nil {
						add(c.Title, c.Text, c.Confirm, c.Deny)
					}
				}
			}
		}
	}
	return out
}

// textBytes is the total length of the texts of blocks.
func textBytes(blocks []slackapi.Block) int {
	n := 0
	for _, t := range textObjects(blocks) {
		n += len(t.Text)
	}
	return n
}

// minFairShare is the shortest fitTotal cuts a text to.
const minFairShare = 24

// fitTotal cuts the longest texts of blocks until all of them together fit
// maxMessageText. The texts of the blocks in keep are left whole. Every
// other text gets the same share of what is left: the texts shorter than
// the share stay whole, the longer ones are cut to it.
func fitTotal(blocks []slackapi.Block, keep ...slackapi.Block) {
	kept := map[*slackapi.TextBlockObject]bool{}
	budget := maxMessageText
	for _, t := range textObjects(keep) {
		kept[t] = true
		budget -= len(t.Text)
	}
	var cuttable []*slackapi.TextBlockObject
	total := 0
	for _, t := range textObjects(blocks) {
		if !kept[t] {
			cuttable = append(cuttable, t)
			total += len(t.Text)
		}
	}
	if total <= budget {
		return
	}
	lengths := make([]int, len(cuttable))
	for i, t := range cuttable {
		lengths[i] = len(t.Text)
	}
	slices.Sort(lengths)
	share, used := minFairShare, 0
	for i, n := range lengths {
		left := len(lengths) - i
		if used+n*left > budget {
			share = max((budget-used)/left, minFairShare)
			break
		}
		used += n
	}
	for _, t := range cuttable {
		if len(t.Text) <= share {
			continue
		}
		if t.Type == slackapi.MarkdownType {
			t.Text = cutMrkdwn(t.Text, share)
		} else {
			t.Text = cutPlain(t.Text, share)
		}
	}
}

// fallbackText is a message's top-level text (mrkdwn), cut to its bound.
func fallbackText(text string) string {
	return cutMrkdwn(text, maxFallbackText)
}

// SummaryMessage is a thread reply saying in one line what happened. The
// summary is plain text that carries plan summaries and error messages: it
// is escaped, so nothing in it can become a mention or a link.
func SummaryMessage(summary string) Message {
	return TextMessage(escape(summary))
}

// TextMessage is a message of mrkdwn text only (already escaped where it
// carries user text), cut to what Slack takes.
func TextMessage(text string) Message {
	return Message{Text: fallbackText(text)}
}

// Check reports every way m breaks a Block Kit limit: too many blocks or
// elements, a text too long or empty, a button value or action ID too long.
// medic's renderers never produce such a message; Check is how tests (and
// anyone building a Message by hand) prove it.
func (m Message) Check() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	text := func(where string, t *slackapi.TextBlockObject, n int) {
		switch {
		case t == nil:
			bad("%s: no text", where)
		case strings.TrimSpace(t.Text) == "":
			bad("%s: empty text", where)
		case len(t.Text) > n:
			bad("%s: text of %d bytes, over %d", where, len(t.Text), n)
		case !utf8.ValidString(t.Text):
			bad("%s: text is not valid UTF-8", where)
		}
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		bad("message: neither text nor blocks")
	}
	if len(m.Text) > maxFallbackText {
		bad("message text: %d bytes, over %d", len(m.Text), maxFallbackText)
	}
	if len(m.Blocks) > MaxBlocks {
		bad("message: %d blocks, over %d", len(m.Blocks), MaxBlocks)
	}
	if n := textBytes(m.Blocks); n > maxMessageText {
		bad("message: the blocks' texts total %d bytes, over %d", n, maxMessageText)
	}
	for i, b := range m.Blocks {
		where := fmt.Sprintf("blocks[%d] (%s)", i, b.BlockType())
		switch b := b.(type) {
		case *slackapi.HeaderBlock:
			text(where, b.Text, maxHeaderText)
		case *slackapi.SectionBlock:
			if b.Text == nil && len(b.Fields) == 0 {
				bad("%s: neither text nor fields", where)
			}
			if b.Text != nil {
				text(where, b.Text, maxSectionText)
			}
			if len(b.Fields) > maxSectionFields {
				bad("%s: %d fields, over %d", where, len(b.Fields), maxSectionFields)
			}
			for j, f := range b.Fields {
				text(fmt.Sprintf("%s.fields[%d]", where, j), f, maxFieldText)
			}
		case *slackapi.ContextBlock:
			els := b.ContextElements.Elements
			if len(els) == 0 || len(els) > maxContextElements {
				bad("%s: %d elements, want 1 to %d", where, len(els), maxContextElements)
			}
			for j, e := range els {
				t, ok := e.(*slackapi.TextBlockObject)
				if !ok {
					continue
				}
				text(fmt.Sprintf("%s.elements[%d]", where, j), t, maxContextText)
			}
		case *slackapi.ActionBlock:
			els := b.Elements.ElementSet
			if len(els) == 0 || len(els) > maxActionsElements {
				bad("%s: %d elements, want 1 to %d", where, len(els), maxActionsElements)
			}
			for j, e := range els {
				at := fmt.Sprintf("%s.elements[%d]", where, j)
				btn, ok := e.(*slackapi.ButtonBlockElement)
				if !ok {
					bad("%s: a %s, not a button", at, e.ElementType())
					continue
				}
				text(at, btn.Text, maxButtonText)
				if btn.Value == "" || len(btn.Value) > maxButtonValue {
					bad("%s: value of %d bytes, want 1 to %d", at, len(btn.Value), maxButtonValue)
				}
				if btn.ActionID == "" || len(btn.ActionID) > maxActionID {
					bad("%s: action_id of %d bytes, want 1 to %d", at, len(btn.ActionID), maxActionID)
				}
				if c := btn.Confirm; c != nil {
					text(at+".confirm.title", c.Title, maxConfirmTitle)
					text(at+".confirm.text", c.Text, maxConfirmText)
					text(at+".confirm.confirm", c.Confirm, maxConfirmButton)
					text(at+".confirm.deny", c.Deny, maxConfirmButton)
				}
			}
		case *slackapi.DividerBlock:
		default:
			bad("%s: a block medic does not check", where)
		}
	}
	return errors.Join(errs...)
}
