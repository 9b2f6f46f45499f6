package email

import "testing"

// detectCases are bytes written by Python's codecs (not x/text), to be
// detected by scoring x/text's decodings; FuzzCharset starts from them too.
var detectCases = []struct {
	name     string
	in       string
	labelled string // the charset the text claims, "" for none
	locale   lang
	want     string
	text     string
}{
	{"korean", "\xb9\xae\xc0\xc7\x20\xb5\xe5\xb8\xb3\xb4\xcf\xb4\xd9", "", anyLang, "euc-kr", "문의 드립니다"},
	{"korean, short", "\xc1\xd6\xb9\xae", "", anyLang, "euc-kr", "주문"},
	{"korean thanks", "\xb0\xa8\xbb\xe7\xc7\xd5\xb4\xcf\xb4\xd9", "", anyLang, "euc-kr", "감사합니다"},
	{"korean under a chinese locale", "\xb9\xae\xc0\xc7\x20\xb5\xe5\xb8\xb3\xb4\xcf\xb4\xd9", "", simplifiedChineseLang, "euc-kr", "문의 드립니다"},
	{"chinese", "\xb6\xa9\xb5\xa5\xb2\xe9\xd1\xaf", "", anyLang, "gb18030", "订单查询"},
	{"chinese, short", "\xb6\xa9\xb5\xa5", "", anyLang, "gb18030", "订单"},
	{"chinese thanks", "\xd0\xbb\xd0\xbb\xc4\xfa\xb5\xc4\xb0\xef\xd6\xfa", "", anyLang, "gb18030", "谢谢您的帮助"},
	{"chinese under a korean locale", "\xd0\xbb\xd0\xbb\xc4\xfa\xb5\xc4\xb0\xef\xd6\xfa", "", koreanLang, "gb18030", "谢谢您的帮助"},
	{"traditional chinese", "\xad\x71\xb3\xe6\xac\x64\xb8\xdf", "", anyLang, "big5", "訂單查詢"},
	{"shift_jis", "\x82\xa8\x96\xe2\x82\xa2\x8d\x87\x82\xed\x82\xb9", "", anyLang, "shift_jis", "お問い合わせ"},
	{"euc-jp", "\xa4\xaa\xcc\xe4\xa4\xa4\xb9\xe7\xa4\xef\xa4\xbb", "", anyLang, "euc-jp", "お問い合わせ"},
	{"shift_jis with 0x5C", "\x83\x5c\x83\x74\x83\x67\x82\xcc\x95\x5c\x8e\xa6\x82\xaa\x95\xf6\x82\xea\x82\xdc\x82\xb7", "", anyLang, "shift_jis", "ソフトの表示が崩れます"},
	{"latin", "Gr\xfc\xdfe aus K\xf6ln", "", anyLang, "windows-1252", "Grüße aus Köln"},
	{"latin, two accents together", "Forma\xe7\xe3o", "", japaneseLang, "windows-1252", "Formação"},
	{"one kanji: the locale breaks the tie (ja)", "\x95\x5c", "", japaneseLang, "shift_jis", "表"},
	{"one kanji: the locale breaks the tie (zh)", "\x95\x5c", "", simplifiedChineseLang, "gb18030", ""},
	{"gb2312 label on shift_jis", "\x82\xa8\x96\xe2\x82\xa2\x8d\x87\x82\xed\x82\xb9", "gb2312", anyLang, "shift_jis", "お問い合わせ"},
	{"euc-kr label on gbk", "\xd0\xbb\xd0\xbb\xc4\xfa\xb5\xc4\xb0\xef\xd6\xfa", "euc-kr", anyLang, "gb18030", "谢谢您的帮助"},
	{"latin-1 label on shift_jis", "\x82\xa8\x96\xe2\x82\xa2\x8d\x87\x82\xed\x82\xb9", "iso-8859-1", anyLang, "shift_jis", "お問い合わせ"},
	{"a right label is kept", "\xb6\xa9\xb5\xa5", "gbk", koreanLang, "gb18030", "订单"},
	{"latin-1 label on latin-1", "Forma\xe7\xe3o", "iso-8859-1", japaneseLang, "windows-1252", "Formação"},
}

func TestDetectCharset(t *testing.T) {
	t.Parallel()
	for _, tt := range detectCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var labelled *candidate
			if tt.labelled != "" {
				_, enc := lookupCharset(tt.labelled)
				c, ok := guessable(enc)
				if !ok {
					t.Fatalf("%s is not a candidate", tt.labelled)
				}
				labelled = &c
			}
			got := detectCharset([]byte(tt.in), labelled, tt.locale)
			if got.label != tt.want {
				t.Errorf("detected %s, want %s", got.label, tt.want)
			}
			if tt.text != "" {
				if s := decodeCharset([]byte(tt.in), tt.labelled, tt.locale); s != tt.text {
					t.Errorf("decoded %q, want %q", s, tt.text)
				}
			}
		})
	}
}

func TestLocaleLang(t *testing.T) {
	t.Parallel()
	for locale, want := range map[string]lang{"": anyLang, "ja": japaneseLang, "ja-JP": japaneseLang, "ko-KR": koreanLang,
		"zh": simplifiedChineseLang, "zh-CN": simplifiedChineseLang, "zh-TW": traditionalChineseLang, "zh-Hant-HK": traditionalChineseLang,
		"en": anyLang, "not a tag!": anyLang} {
		if got := localeLang(locale); got != want {
			t.Errorf("localeLang(%q) = %d, want %d", locale, got, want)
		}
	}
}

// TestShiftJISBackslash: the second byte of ソ, 表 and 能 is 0x5C; in a raw
// quoted filename or display name it is no escape.
func TestShiftJISBackslash(t *testing.T) {
	t.Parallel()
	hint := textHint{locale: japaneseLang}
	_, params := parseParamHeader("attachment; filename=\"\x8c\xa9\x90\xcf\x95\x5c\"; size=10", hint)
	if params["filename"] != "見積表" || params["size"] != "10" {
		t.Errorf("params = %q", params)
	}
	_, params = parseParamHeader("attachment; filename=\"\x83\x5c\x83\x74\x83\x67.txt\"", hint)
	if params["filename"] != "ソフト.txt" {
		t.Errorf("params = %q", params)
	}
	got := parseAddressList("\"\x94\x5c\x97\xcd\x95\x5c\" <nouryoku@example.jp>, b@example.jp", hint)
	if len(got) != 2 || got[0].Name != "能力表" || got[0].Address != "nouryoku@example.jp" {
		t.Errorf("addresses = %+v", got)
	}
	// A quote is no Shift_JIS second byte: raw Windows-1252 "ž" (0x9E) before it
	// still closes the name.
	got = parseAddressList("\"Dvo\xf8\xe1\x9e\" <d@example.cz>", textHint{})
	if len(got) != 1 || got[0].Address != "d@example.cz" || got[0].Name != "Dvoøáž" {
		t.Errorf("addresses = %+v", got)
	}
	// UTF-8 text keeps its escapes.
	_, params = parseParamHeader(`attachment; filename="a\"b.txt"`, hint)
	if params["filename"] != `a"b.txt` {
		t.Errorf("params = %q", params)
	}
}
