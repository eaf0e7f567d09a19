package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutMrkdwnNeverBreaksAnEscapeAConstructOrARune(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short text is kept", "a &amp; b", 9, "a &amp; b"},
		{"a cut inside &amp; moves before it", "abc &amp; def", 9, "abc …"},
		{"a cut inside &lt; moves before it", "abcd&lt;x", 8, "abcd…"},
		{"a cut right after an escape keeps it", "ab&gt;cdefgh", 9, "ab&gt;…"},
		{"a cut inside a mention moves before it", "hi <@U0ALICE> there", 11, "hi …"},
		{"a cut inside a link moves before it", "see <https://x.example/a|runbook> now", 30, "see …"},
		{"a cut after a closed construct keeps it", "<@U0A> and more text", 12, "<@U0A> an…"},
		{"a cut inside a rune moves before it", "ab日本", 7, "ab…"},
		{"a cut inside an emoji moves before it", "a🚀🚀", 8, "a🚀…"},
		{"invalid UTF-8 is replaced, not passed on", "a\xffb", 10, "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cutMrkdwn(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("cutMrkdwn(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if len(got) > tt.n && tt.in != "a\xffb" {
				t.Errorf("cutMrkdwn(%q, %d) is %d bytes", tt.in, tt.n, len(got))
			}
		})
	}
}

func TestCutsFitEveryLengthOfEveryText(t *testing.T) {
	in := strings.Repeat("x &amp; <@U0A> é 日本 🚀 &lt;y&gt; ", 20)
	for n := len(ellipsis); n <= len(in)+1; n++ {
		for name, cut := range map[string]func(string, int) string{"cutMrkdwn": cutMrkdwn, "cutPlain": cutPlain} {
			got := cut(in, n)
			if len(got) > n || !utf8.ValidString(got) {
				t.Fatalf("%s(…, %d) = %q: %d bytes or broken UTF-8", name, n, got, len(got))
			}
			if n < len(in) && !strings.HasSuffix(got, ellipsis) {
				t.Fatalf("%s(…, %d) = %q: cut without an ellipsis", name, n, got)
			}
		}
	}
}
