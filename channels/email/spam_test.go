package email

import "testing"

func TestSpamVerdict(t *testing.T) {
	t.Parallel()
	rule := SpamRule{Header: "X-Spam-Score", Threshold: 5}
	tests := []struct {
		name, header string
		rule         SpamRule
		want         string
	}{
		{"flag", "X-Spam-Flag: YES", SpamRule{}, "X-Spam-Flag: YES"},
		{"flag no", "X-Spam-Flag: NO", rule, ""},
		{"status", "X-Spam-Status: Yes, score=7.2 required=5.0 tests=BAYES_99,URIBL_BLOCKED\n\tautolearn=no", SpamRule{},
			"X-Spam-Status: Yes, score=7.2 required=5.0"},
		{"status no", "X-Spam-Status: No, score=0.1 required=5.0", SpamRule{}, ""},
		{"score over", "X-Spam-Score: 6.3", rule, "X-Spam-Score: 6.3 (threshold 5)"},
		{"score at", "X-Spam-Score: 5", rule, "X-Spam-Score: 5 (threshold 5)"},
		{"score under", "X-Spam-Score: 4.9", rule, ""},
		{"score without rule", "X-Spam-Score: 9.9", SpamRule{}, ""},
		{"rspamd", "X-Spamd-Result: default: False [6.30 / 15.00]", SpamRule{Header: "X-Spamd-Result", Threshold: 6},
			"X-Spamd-Result: default: False [6.30 / 15.00] (threshold 6)"},
		{"not a number", "X-Spam-Score: high", rule, ""},
		// Our MTA's verdict is on top; the sender's own field below does not count.
		{"topmost only", "X-Spam-Flag: NO\nX-Spam-Flag: YES", SpamRule{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SpamVerdict([]byte(tt.header+"\nFrom: a@example.com\nSubject: s\n\nbody\n"), tt.rule); got != tt.want {
				t.Errorf("verdict %q, want %q", got, tt.want)
			}
		})
	}
}
