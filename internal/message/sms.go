package message

import (
	"fmt"
	"unicode/utf8"
)

// SMS encodings reported by AnalyzeSMS.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment limits. A single GSM-7 SMS carries 160 septets (140 octets); a
// concatenated one spends 6 octets of every part on the user data header,
// leaving 153 septets. UCS-2 carries 70 UTF-16 code units alone, 67 per part.
const (
	GSM7SingleLimit = 160
	GSM7MultiLimit  = 153
	UCS2SingleLimit = 70
	UCS2MultiLimit  = 67
)

// SMSInfo is how an SMS body would be encoded and split.
type SMSInfo struct {
	// Encoding is EncodingGSM7 when every character is in the GSM 03.38
	// default alphabet or its extension table, else EncodingUCS2.
	Encoding string
	// Units is the length in the encoding's units: septets for GSM-7
	// (extension-table characters count 2: an escape and the character),
	// UTF-16 code units for UCS-2 (a character outside the BMP, such as most
	// emoji, counts 2).
	Units int
	// Segments is how many SMS parts the body needs: 1 when Units fits the
	// single-message limit, else the number of 153-septet or 67-unit parts.
	// A part never splits an escape sequence or a surrogate pair, as phones
	// and carriers pack them, so near a boundary this can be one more than
	// Units/153 rounded up. An empty body is 1 segment.
	Segments int
}

// Warning returns a sentence saying the SMS needs more than one segment, or
// "" when it fits in one (or i is the zero SMSInfo).
func (i SMSInfo) Warning() string {
	if i.Segments <= 1 {
		return ""
	}
	limit := GSM7SingleLimit
	unit := "septets"
	if i.Encoding == EncodingUCS2 {
		limit, unit = UCS2SingleLimit, "UCS-2 code units"
	}
	return fmt.Sprintf("SMS is %d %s of %s, over the single-segment limit of %d: it will be sent as %d segments",
		i.Units, unit, i.Encoding, limit, i.Segments)
}

// gsmBasic is the GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1), by
// Unicode character. 0x1B (escape to the extension table) is left out: it is
// not a character one can send on its own.
var gsmBasic = func() map[rune]bool {
	const table = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ" + /* 0x1B ESC */ "ÆæßÉ" +
		" !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
		"¿abcdefghijklmnopqrstuvwxyzäöñüà"
	m := make(map[rune]bool, 127)
	for _, r := range table {
		m[r] = true
	}
	return m
}()

// gsmExtension is the default extension table (3GPP TS 23.038 §6.2.1.1):
// each is sent as ESC followed by a septet, so it costs 2 septets.
var gsmExtension = map[rune]bool{
	'\f': true, '^': true, '{': true, '}': true, '\\': true,
	'[': true, '~': true, ']': true, '|': true, '€': true,
}

// gsmSeptets returns how many septets r takes in GSM-7: 1, 2, or 0 when r
// has no GSM-7 encoding.
func gsmSeptets(r rune) int {
	switch {
	case gsmBasic[r]:
		return 1
	case gsmExtension[r]:
		return 2
	}
	return 0
}

// IsGSM7 reports whether every character of s has a GSM-7 encoding.
func IsGSM7(s string) bool {
	for _, r := range s {
		if gsmSeptets(r) == 0 {
			return false
		}
	}
	return true
}

// AnalyzeSMS reports the encoding, length and segment count of an SMS body.
// Invalid UTF-8 bytes count as U+FFFD, which forces UCS-2.
func AnalyzeSMS(body string) SMSInfo {
	if IsGSM7(body) {
		return pack(body, EncodingGSM7, GSM7SingleLimit, GSM7MultiLimit, gsmSeptets)
	}
	return pack(body, EncodingUCS2, UCS2SingleLimit, UCS2MultiLimit, ucs2Units)
}

func ucs2Units(r rune) int {
	if r > 0xFFFF && r <= utf8.MaxRune {
		return 2 // a surrogate pair
	}
	return 1
}

// pack counts the units of body and, when they overflow one message, packs
// them greedily into parts of multi units without splitting a character.
func pack(body, enc string, single, multi int, cost func(rune) int) SMSInfo {
	info := SMSInfo{Encoding: enc, Segments: 1}
	part := 0
	for _, r := range body {
		c := cost(r)
		info.Units += c
		if part+c > multi {
			info.Segments++
			part = 0
		}
		part += c
	}
	if info.Units <= single {
		info.Segments = 1
	}
	return info
}
