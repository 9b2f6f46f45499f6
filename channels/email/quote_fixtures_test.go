package email

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReplyFixtures parses each client's reply in testdata/replies (complete
// messages, written in the client's format) and checks the reply text
// exactly, and whether the mail only quotes.
func TestReplyFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file       string
		want       string
		onlyQuotes bool
	}{
		{"gmail_en_above.eml", "Thanks, the printer works again after the update.\n\nJane", false},
		{"gmail_ja_above.eml", "お世話になっております。山田です。\n\nアップデート後、正常に印刷できるようになりました。\nありがとうございました。", false},
		{"gmail_ko_below.eml", "모델명은 LX-200입니다.\n3층 사무실에서 사용하고 있습니다.\n\n홍길동 드림", false},
		{"gmail_de_wrapped.eml", "Vielen Dank, jetzt klappt es.", false},
		{"gmail_es_forward.eml", "Hola, les reenvío la factura que me pidieron.", false},
		{"gmail_only_quote.eml", "", true},
		{"apple_mail_ja.eml", "了解しました。明日の午前中に再起動してみます。", false},
		{"apple_mail_en_html.eml", "It printed fine this morning.", false},
		{"outlook_ja_above.eml", "サポート窓口\nご担当者様\n\nご連絡ありがとうございます。\n手順どおりに操作したところ、解決しました。\n\n山田", false},
		{"outlook_ko_above.eml", "확인했습니다. 드라이버를 다시 설치하니 잘 됩니다.\n\n감사합니다.\n홍길동", false},
		{"outlook_fr_above.eml", "Bonjour,\n\nC'est réglé, merci beaucoup.\n\nCordialement,\nMarie", false},
		{"outlook_web_ko_html.eml", "확인했습니다. 오늘 오후에 다시 설치해 보겠습니다.\n홍길동 드림", false},
		{"outlook_en_inline.eml", "Answers below.\n\nIt is the LX-200.\n\nThird floor, next to the kitchen.", false},
		{"thunderbird_ja_below.eml", "バージョンは 2.0.3 です。\n昨日インストールしたばかりです。", false},
		{"thunderbird_ru_below.eml", "Версия 2.0.3.\n\nС уважением,\nИван", false},
		{"becky_ja_interleaved.eml", "サポート窓口 御中\n\nWindows 11 です。\n\n「E-102」と表示されます。\n\n--------------------------------------\n山田 太郎 <yamada@example.org>\n--------------------------------------", false},
		{"naver_ko_below.eml", "버전 2.1을 설치했습니다.\n\n확인 부탁드립니다.", false},
		{"daum_ko_above.eml", "네, 오늘 오후에 다시 해 보겠습니다.", false},
		{"samsung_ko_above.eml", "지금은 잘 됩니다. 감사합니다.", false},
		{"zoho_en_above.eml", "Yes, please close the ticket.\n\nRegards,\nKen", false},
		{"qq_zh_above.eml", "好的，已经解决了，谢谢！", false},
		{"pipe_quote_ja.eml", "サポート窓口様\n\n3階の会議室です。\n\n点灯していません。", false},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d fixtures in testdata/replies, %d in this table", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", "replies", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(raw, ParseOptions{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if p.ReplyText != tt.want {
				t.Errorf("reply text\n got: %q\nwant: %q\nfull text: %q", p.ReplyText, tt.want, p.Text)
			}
			if only := p.OnlyQuotes; only != tt.onlyQuotes {
				t.Errorf("only quotes = %v, want %v", only, tt.onlyQuotes)
			}
		})
	}
}
