package mailer

import "testing"

func TestDetectLocale(t *testing.T) {
	for _, c := range []struct{ text, fallback, want string }{
		{"ログインできません。パスワードを再設定してもだめでした。", "en", "ja"},
		{"결제가 두 번 청구되었습니다. 확인 부탁드립니다.", "ja", "ko"},
		{"My parcel has not arrived yet, could you check the order?", "ja", "en"},
		{"至急確認願", "ko", "ko"}, // Han alone: Japanese or Chinese, say nothing
		{"OK", "ja", "ja"},    // too little to tell
		{"", "ko", "ko"},      // nothing at all
		{"Hello,\n\n注文番号 123 の件です。よろしくお願いします。", "en", "ja"},                                    // a Japanese mail with an English greeting
		{"Здравствуйте, у меня проблема с заказом", "en", "en"},                                // another script: the service's
		{"Thank you, the parcel arrived today in good order.\n\nJohn (ジョン) Smith", "ja", "en"}, // a name in kana
	} {
		if got := DetectLocale(c.text, c.fallback); got != c.want {
			t.Errorf("DetectLocale(%q, %q) = %q, want %q", c.text, c.fallback, got, c.want)
		}
	}
}
