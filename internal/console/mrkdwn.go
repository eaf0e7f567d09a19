package console

import (
	"html"
	"net/url"
	"regexp"
	"strings"
)

// mrkdwnHTML turns Slack mrkdwn, as medic's card renderer writes it, into
// safe HTML: every text is escaped, links keep only http(s) and mailto
// URLs, and *bold*, _italic_, ~strike~, `code` and line breaks become their
// elements. It reads the text the way Slack does: a raw "<" opens a link or
// mention, and "&amp;", "&lt;", "&gt;" are the escaped characters.
func mrkdwnHTML(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(formatText(s))
			break
		}
		b.WriteString(formatText(s[:i]))
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(formatText(s[i:]))
			break
		}
		b.WriteString(control(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	return b.String()
}

// control renders the inside of <...>: a link, a user, group or channel
// mention, or a special mention.
func control(c string) string {
	target, label, hasLabel := strings.Cut(c, "|")
	switch {
	case strings.HasPrefix(target, "!subteam^"):
		text := "@" + strings.TrimPrefix(target, "!subteam^")
		if hasLabel {
			text = label
		}
		return `<span class="mention">` + html.EscapeString(unescapeMrkdwn(text)) + `</span>`
	case strings.HasPrefix(target, "!date^") && hasLabel:
		return html.EscapeString(unescapeMrkdwn(label))
	case strings.HasPrefix(target, "@"), strings.HasPrefix(target, "#"), strings.HasPrefix(target, "!"):
		text := target
		if hasLabel {
			text = label
		}
		return `<span class="mention">` + html.EscapeString(unescapeMrkdwn(text)) + `</span>`
	}
	u, err := url.Parse(unescapeMrkdwn(target))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
		return formatText(c)
	}
	text := target
	if hasLabel {
		text = label
	}
	return `<a href="` + html.EscapeString(u.String()) + `" rel="noopener noreferrer">` + formatText(text) + `</a>`
}

var (
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	boldRe   = regexp.MustCompile(`(^|[\s(>])\*([^*\n]+)\*`)
	italicRe = regexp.MustCompile(`(^|[\s(>])_([^_\n]+)_`)
	strikeRe = regexp.MustCompile(`(^|[\s(>])~([^~\n]+)~`)
)

// formatText escapes a run of mrkdwn text for HTML and applies its inline
// formatting.
func formatText(s string) string {
	t := html.EscapeString(unescapeMrkdwn(s))
	// Code spans first, kept away from the other rules.
	var codes []string
	t = codeRe.ReplaceAllStringFunc(t, func(m string) string {
		codes = append(codes, "<code>"+m[1:len(m)-1]+"</code>")
		return "\x00" + string(rune('a'+len(codes)-1)) + "\x00"
	})
	t = emojiRe.ReplaceAllStringFunc(t, func(m string) string {
		if e, ok := emoji[m[1:len(m)-1]]; ok {
			return e
		}
		return m
	})
	t = boldRe.ReplaceAllString(t, "$1<b>$2</b>")
	t = italicRe.ReplaceAllString(t, "$1<i>$2</i>")
	t = strikeRe.ReplaceAllString(t, "$1<s>$2</s>")
	for i, c := range codes {
		t = strings.Replace(t, "\x00"+string(rune('a'+i))+"\x00", c, 1)
	}
	return strings.ReplaceAll(t, "\n", "<br>")
}

var emojiRe = regexp.MustCompile(`:[a-z0-9_+-]+:`)

// emoji are the shortcodes medic's cards use, as Slack draws them.
var emoji = map[string]string{
	"alarm": "⏰", "alarm_clock": "⏰", "arrow_forward": "▶️", "double_vertical_bar": "⏸️",
	"gear": "⚙️", "ghost": "👻", "grey_question": "❔", "heavy_minus_sign": "➖",
	"hourglass_flowing_sand": "⏳", "information_source": "ℹ️", "leftwards_arrow_with_hook": "↩️",
	"no_entry": "⛔", "no_entry_sign": "🚫", "relieved": "😌", "rotating_light": "🚨",
	"scissors": "✂️", "sos": "🆘", "warning": "⚠️", "white_check_mark": "✅", "x": "❌",
}

var mrkdwnUnescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

func unescapeMrkdwn(s string) string { return mrkdwnUnescaper.Replace(s) }
