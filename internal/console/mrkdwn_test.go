package console

import "testing"

func TestMrkdwnBecomesSafeHTML(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text is escaped", `a & b "c"`, `a &amp; b &#34;c&#34;`},
		{"Slack's escapes are read, then escaped for HTML", `4 -&gt; 6 &amp; &lt;script&gt;`, `4 -&gt; 6 &amp; &lt;script&gt;`},
		{"bold, italic, strike and code", "*Plan*: _soon_ ~old~ `ecs:prod/x`", "<b>Plan</b>: <i>soon</i> <s>old</s> <code>ecs:prod/x</code>"},
		{"code keeps its stars", "`a*b*c`", "<code>a*b*c</code>"},
		{"a link with a label", `<https://runbooks.example.com/x?a=1&amp;b=2|runbook>`, `<a href="https://runbooks.example.com/x?a=1&amp;b=2" rel="noopener noreferrer">runbook</a>`},
		{"a javascript link is text", `<javascript:alert(1)|click>`, `javascript:alert(1)|click`},
		{"a user mention", `<@U0ONCALL1>`, `<span class="mention">@U0ONCALL1</span>`},
		{"a group mention", `<!subteam^S0SRE>`, `<span class="mention">@S0SRE</span>`},
		{"a date shows its fallback", `<!date^1700000000^{date_short}|2023-11-14 22:13 UTC>`, `2023-11-14 22:13 UTC`},
		{"emoji shortcodes are drawn", `:rotating_light: ALARM`, "\U0001f6a8 ALARM"},
		{"an unknown shortcode stays", `:not_an_emoji:`, `:not_an_emoji:`},
		{"a label cannot inject HTML", `<https://x.example|<b>hi</b>>`, `<a href="https://x.example" rel="noopener noreferrer">&lt;b</a>hi/b&gt;`},
		{"lines break", "a\nb", "a<br>b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mrkdwnHTML(tc.in); got != tc.want {
				t.Errorf("mrkdwnHTML(%q) =\n  %q\nwant\n  %q", tc.in, got, tc.want)
			}
		})
	}
}
