package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func parseFixture(t *testing.T, name string) *Parsed {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw, ParseOptions{})
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	checkInvariants(t, name, p)
	return p
}

// TestCharsetFixtures covers every charset family we promise, with fixtures
// in testdata/ written by real encoders (see testdata/README.md).
func TestCharsetFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		subject     string
		fromName    string
		textHas     []string
		attachments []string
	}{
		{file: "iso2022jp_nec.eml", subject: "①お問い合わせ", fromName: "山田 太郎",
			textHas: []string{"お世話になっております。", "①注文番号の件", "Ⅰ期分 ㈱テスト", "ｱｲｳ"}},
		{file: "shiftjis.eml", subject: "②請求書について", textHas: []string{"請求書の件で①確認させてください。"}},
		{file: "euckr.eml", subject: "문의 드립니다", textHas: []string{"안녕하세요. 주문 관련 문의입니다."}},
		{file: "ks_c_5601.eml", subject: "똠방각하 견적 요청", fromName: "홍길동", textHas: []string{"견적 부탁드립니다."}},
		{file: "iso2022kr.eml", subject: "ISO-2022-KR test", textHas: []string{"안녕하세요\n배송 문의입니다 (order 42)"}},
		{file: "jis_nocharset.eml", subject: "no charset", textHas: []string{"文字コード指定なしのメールです。"}},
		{file: "rfc2231_ja.eml", subject: "attachments", textHas: []string{"添付します。"},
			attachments: []string{"見積書_2023年度.pdf", "売上表.xls", "メモ.txt"}},
		{file: "gb2312.eml", subject: "订单查询", textHas: []string{"您好，我想查询订单。"}},
		{file: "big5.eml", subject: "訂單查詢", textHas: []string{"您好，我想查詢訂單。"}},
		{file: "latin1.eml", subject: "Grüße – Anfrage", fromName: "Jürgen Müller", textHas: []string{"Schöne Grüße aus Köln € 100"}},
		{file: "unlabelled_sjis.eml", subject: "件名も生のシフトJISです", fromName: "鈴木", textHas: []string{"ラベルのないシフトJISの本文です。"}},
		{file: "unlabelled_eucjp.eml", subject: "eucjp", textHas: []string{"ラベルが間違っているEUC-JPの本文です。"}},
		{file: "unlabelled_euckr.eml", subject: "제목도 인코딩 없음", textHas: []string{"문자셋 표시가 없는 본문입니다."}},
		{file: "mislabelled_sjis_as_jis.eml", subject: "mobile", textHas: []string{"ケータイから送信しています。"}},
		{file: "jp_webmail_sjis_as_jis.eml", subject: "表示が崩れます", fromName: "佐藤ソフト",
			textHas: []string{"ソフトの表示が崩れます。能力表の画面です。"}},
		{file: "raw_sjis_headers.eml", subject: "見積書の件（ソフト保守）", fromName: "山田表子",
			textHas: []string{"見積表を添付します。ご確認ください。"}, attachments: []string{"見積表", "ソフト能力表.xls"}},
		{file: "raw_euckr_headers.eml", subject: "주문 취소 문의", fromName: "김민수",
			textHas: []string{"어제 주문한 상품을 취소하고 싶습니다."}, attachments: []string{"주문내역.pdf"}},
		{file: "raw_gbk_headers.eml", subject: "关于订单退款的问题", fromName: "王小明",
			textHas: []string{"请帮我查询一下订单状态。"}, attachments: []string{"订单截图.png"}},
		{file: "raw_big5_headers.eml", subject: "關於訂單退款的問題", fromName: "陳大文",
			textHas: []string{"請幫我查詢一下訂單狀態。"}, attachments: []string{"訂單截圖.png"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".eml"), func(t *testing.T) {
			t.Parallel()
			p := parseFixture(t, tt.file)
			if p.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", p.Subject, tt.subject)
			}
			if tt.fromName != "" && p.From.Name != tt.fromName {
				t.Errorf("from name = %q, want %q", p.From.Name, tt.fromName)
			}
			for _, s := range tt.textHas {
				if !strings.Contains(p.Text, s) {
					t.Errorf("text %q does not contain %q", p.Text, s)
				}
			}
			if strings.ContainsRune(p.Text, '\uFFFD') {
				t.Errorf("text has replacement characters: %q", p.Text)
			}
			if tt.attachments != nil {
				var names []string
				for _, a := range p.Attachments {
					names = append(names, a.Filename)
				}
				if diff := cmp.Diff(tt.attachments, names); diff != "" {
					t.Errorf("attachment names (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDecodeCharset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    []byte
		label string
		want  string
	}{
		{"utf8", []byte("héllo"), "utf-8", "héllo"},
		{"utf8 alias", []byte("héllo"), "UTF8", "héllo"},
		{"quoted label with junk", []byte("h\xe9llo"), `"iso-8859-1";`, "héllo"},
		{"latin1 is windows-1252", []byte("\x80 5"), "ISO-8859-1", "€ 5"},
		{"windows-1251", []byte("\xcf\xf0\xe8\xe2\xe5\xf2"), "windows-1251", "Привет"},
		{"x-sjis", []byte("\x82\xa0"), "x-sjis", "あ"},
		{"shift-jis", []byte("\x82\xa0"), "shift-jis", "あ"},
		{"cp932 NEC", []byte("\x87\x40"), "cp932", "①"},
		{"ms932", []byte("\x87\x40"), "ms932", "①"},
		{"windows-31j IBM ext", []byte("\xfa\x40"), "windows-31j", "ⅰ"},
		{"x-euc-jp", []byte("\xa4\xa2"), "x-euc-jp", "あ"},
		{"ks_c_5601", []byte("\xb0\xa1"), "ks_c_5601", "가"},
		{"cp949 UHC-only", []byte("\x8c\x63"), "cp949", "똠"},
		{"gbk", []byte("\xc4\xe3\xba\xc3"), "GBK", "你好"},
		{"gb18030", []byte("\xc4\xe3\xba\xc3"), "gb18030", "你好"},
		{"big5", []byte("\xa7\x41\xa6\x6e"), "big5", "你好"},
		{"iso-2022-jp NEC row 13", []byte("\x1b$B-!-5\x1b(B"), "iso-2022-jp", "①Ⅰ"},
		{"iso-2022-jp CR kept", []byte("\x1b$B$\"\r\n"), "iso-2022-jp", "あ\r\n"},
		{"iso-2022-jp SO/SI kana", []byte("\x0e\x31\x32\x0f!"), "cp50221", "ｱｲ!"},
		{"iso-2022-jp JIS X 0212", []byte("\x1b$(D\x30\x21\x1b(B"), "iso-2022-jp", "丂"},
		{"iso-2022-kr", []byte("\x1b$)C\x0e\x30\x21\x0f a"), "iso-2022-kr", "가 a"},
		{"utf-7", []byte("Hi Mom -+Jjo--!"), "utf-7", "Hi Mom -☺-!"},
		{"utf-16 BOM-less is big-endian", []byte{0x30, 0x42}, "utf-16", "あ"},
		{"unknown label, valid utf-8", []byte("日本"), "x-klingon", "日本"},
		{"us-ascii with JIS escapes", []byte("\x1b$B$\"\x1b(B"), "us-ascii", "あ"},
		{"no label, 8-bit latin", []byte("Gr\xfc\xdfe"), "", "Grüße"},
		{"invalid utf-8 replaced", []byte("ok \xff\xfe 日本"), "utf-8", "ok \uFFFD 日本"},
		{"truncated shift_jis", []byte("\x82"), "shift_jis", "\uFFFD"},
		{"truncated jis", []byte("\x1b$B$"), "iso-2022-jp", "\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := decodeCharset(tt.in, tt.label, anyLang); got != tt.want {
				t.Errorf("decodeCharset(%q, %q) = %q, want %q", tt.in, tt.label, got, tt.want)
			}
		})
	}
}

func TestDecodeHeaderText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "Hello", "Hello"},
		{"q word", "=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait"},
		{"adjacent words drop whitespace", "=?utf-8?B?5pel?= \r\n =?utf-8?B?5pys?=", "日本"},
		{"utf-8 split across words", "=?UTF-8?B?5pc=?= =?UTF-8?B?peacrA==?=", "日本"},
		{"iso-2022-jp words", "=?ISO-2022-JP?B?GyRCJEckOSEjGyhC?=", "です。"},
		{"text between words kept", "=?utf-8?q?a?= and =?utf-8?q?b?=", "a and b"},
		{"word glued to text", "Re:=?utf-8?q?caf=C3=A9?=", "Re:café"},
		{"language suffix", "=?utf-8*ja?q?=E3=81=82?=", "あ"},
		{"broken base64 padding", "=?utf-8?B?5pel5pys?=", "日本"},
		{"unknown charset, utf-8 bytes", "=?x-unknown?q?=E6=97=A5?=", "日"},
		{"ks_c_5601-1987", "=?ks_c_5601-1987?B?x9GxuSDAzLjewM8=?=", "한국 이메일"},
		{"raw utf-8", "Grüße", "Grüße"},
		{"unterminated word left alone", "=?utf-8?q?abc", "=?utf-8?q?abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := decodeHeaderText(tt.in, textHint{}); got != tt.want {
				t.Errorf("decodeHeaderText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParamHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		token  string
		params map[string]string
	}{
		{"simple", `text/plain; charset="utf-8"`, "text/plain", map[string]string{"charset": "utf-8"}},
		{"missing semicolon", `multipart/mixed boundary="b1"`, "multipart/mixed", map[string]string{"boundary": "b1"}},
		{"missing semicolon between params", `message/external-body; access-type=mail-server server="a@b"`, "message/external-body",
			map[string]string{"access-type": "mail-server", "server": "a@b"}},
		{"rfc 2231 continuations", `attachment; filename*0*=utf-8''%E6%97; filename*1*=%A5.txt`, "attachment",
			map[string]string{"filename": "日.txt"}},
		{"rfc 2231 plain continuations", `attachment; filename*0="long"; filename*1="name.pdf"`, "attachment",
			map[string]string{"filename": "longname.pdf"}},
		{"rfc 2231 beats plain", `attachment; filename="fallback.txt"; filename*=utf-8''%C3%A9.txt`, "attachment",
			map[string]string{"filename": "é.txt"}},
		{"rfc 2047 in quoted value", `attachment; filename="=?UTF-8?B?5pel5pys?=.txt"`, "attachment", map[string]string{"filename": "日本.txt"}},
		{"unterminated quote", `attachment; filename="abc.txt`, "attachment", map[string]string{"filename": "abc.txt"}},
		{"windows path kept literally", `attachment; filename="C:\temp\a.png"`, "attachment", map[string]string{"filename": `C:\temp\a.png`}},
		{"boundary kept raw", `multipart/mixed; boundary="=?x?="`, "multipart/mixed", map[string]string{"boundary": "=?x?="}},
		{"empty token", `; filename="a.png"`, "", map[string]string{"filename": "a.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			token, params := parseParamHeader(tt.in, textHint{})
			if token != tt.token {
				t.Errorf("token = %q, want %q", token, tt.token)
			}
			if diff := cmp.Diff(tt.params, params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
