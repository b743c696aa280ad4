package advisor

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestDigitRun checks the eight-byte digit count against a byte loop, with
// every byte value after every count of digits.
func TestDigitRun(t *testing.T) {
	for n := 0; n < 8; n++ {
		for c := 0; c < 256; c++ {
			word := []byte("98765432")[:n]
			word = append(word, byte(c))
			for len(word) < 8 {
				word = append(word, "0.-9a\"}\xff"[len(word)])
			}
			want := 0
			for want < 8 && word[want] >= '0' && word[want] <= '9' {
				want++
			}
			if got := digitRun(leUint64(word)); got != want {
				t.Fatalf("digitRun(%q) = %d, want %d", word, got, want)
			}
		}
	}
	if got := digitRun(leUint64([]byte("01234567"))); got != 8 {
		t.Fatalf("digitRun of eight digits = %d", got)
	}
}

func leUint64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestReadIntFastPath checks readInt, whose fast path reads up to fifteen
// digits without a loop, against readIntSlow on numbers of every length
// followed by every kind of byte, at the end of a line and far from it.
func TestReadIntFastPath(t *testing.T) {
	var numbers []string
	for digits := 1; digits <= 21; digits++ {
		numbers = append(numbers, strings.Repeat("9", digits), "1"+strings.Repeat("0", digits-1),
			strconv.FormatUint(uint64(1234567890123456789)%pow(digits), 10))
	}
	numbers = append(numbers, "0", "-0", "-12", "null", "nul", "", "-", "1.5", "12e3", "7E2", "123456789.5",
		"12345678e1", "1234567890123456.5", "007", "9223372036854775807", "9223372036854775808", "-9223372036854775809")
	for _, num := range numbers {
		for _, after := range []string{"", ",", "}", "]", " ", ".", "e", "E", "x", "\"", "5"} {
			for _, pad := range []int{0, 1, 7, 8, 9, 16, 17, 40} {
				line := []byte("{\"n\":" + num + after + strings.Repeat(",", pad))
				wantV, wantEnd := readIntSlow(line, 5)
				gotV, gotEnd := readInt(line, 5)
				if gotV != wantV || gotEnd != wantEnd {
					t.Fatalf("readInt(%q) = %d, %d; readIntSlow = %d, %d", line, gotV, gotEnd, wantV, wantEnd)
				}
				wantSkip := skipValueByBytes(line, 5)
				if got := skipValue(line, 5); got != wantSkip {
					t.Fatalf("skipValue(%q) = %d, want %d", line, got, wantSkip)
				}
			}
		}
	}
}

func pow(digits int) uint64 {
	p := uint64(1)
	for range min(digits, 19) {
		p *= 10
	}
	return p
}

// skipValueByBytes is skipValue's literal rule, one byte at a time.
func skipValueByBytes(b []byte, i int) int {
	if i < len(b) && (b[i] == '"' || b[i] == '{' || b[i] == '[') {
		return skipValue(b, i)
	}
	j := i
	for j < len(b) && !literalEnd[b[j]] {
		j++
	}
	if j == i || i >= len(b) {
		return -1
	}
	return j
}

// TestKeySetNextAgreesWithObjectKey walks objects with every hot key set and
// compares each step with objectKey and a lookup of the key by name: keys
// in Spark's order and out of it, unknown keys that share a key's first
// bytes or all but its last, whitespace, the end of the line within a key's
// words, and broken separators.
func TestKeySetNextAgreesWithObjectKey(t *testing.T) {
	sets := []*keySet{taskEndKeys, taskEndReasonKeys, taskInfoKeys, executorMetricsKeys, taskMetricsKeys,
		shuffleReadKeys, shuffleWriteKeys, inputKeys, outputKeys, stageKeys, stageInfoKeys, stageExecutorMetricsKeys}
	for _, ks := range sets {
		var variants [][]string
		variants = append(variants, ks.names) // Spark's order
		reversed := make([]string, len(ks.names))
		for i, n := range ks.names {
			reversed[len(ks.names)-1-i] = n
		}
		variants = append(variants, reversed)
		var skipping, near []string
		for i, n := range ks.names {
			if i%2 == 0 {
				skipping = append(skipping, n)
			}
			near = append(near, n[:len(n)-1], n+"x", n[:len(n)-1]+"\x00", n, " "+n)
		}
		variants = append(variants, skipping, near)
		for _, keys := range variants {
			for _, sep := range []string{",", " , ", ",\n"} {
				var obj strings.Builder
				obj.WriteString("{")
				for i, k := range keys {
					if i > 0 {
						obj.WriteString(sep)
					}
					obj.WriteString(strconv.Quote(k) + ":" + strconv.Itoa(i))
				}
				obj.WriteString("}")
				line := []byte(obj.String())
				for cut := len(line); cut > len(line)-48 && cut > 0; cut-- {
					checkWalk(t, ks, line[:cut])
				}
				checkWalk(t, ks, append(append([]byte(nil), line...), strings.Repeat(" ", 50)...))
			}
		}
		checkWalk(t, ks, []byte(`{,"`+ks.names[0]+`":1}`+strings.Repeat(" ", 50)))
		checkWalk(t, ks, []byte(`{"`+ks.names[0]+`":1,}`+strings.Repeat(" ", 50)))
		checkWalk(t, ks, []byte(`{ "`+ks.names[0]+`" : 1 }`+strings.Repeat(" ", 50)))
		checkWalk(t, ks, []byte(`{"`+ks.names[0]+`":1;"`+ks.names[len(ks.names)-1]+`":2}`+strings.Repeat(" ", 50)))
		checkWalk(t, ks, []byte(`["`+ks.names[0]+`":1}`+strings.Repeat(" ", 50)))
	}
}

// checkWalk walks the object in line with ks.next and, beside it, with
// objectStart, objectKey and objectNext, and fails at the first difference.
func checkWalk(t *testing.T, ks *keySet, line []byte) {
	t.Helper()
	c := keyCursor{lead: '{'}
	i := 0
	ref := objectStart(line, 0)
	for step := 0; ; step++ {
		id, j, more := ks.next(line, i, &c, nil)
		key, refJ, refMore := objectKey(line, ref, nil)
		refID := -1
		if refMore {
			for n, name := range ks.names {
				if name == string(key) {
					refID = n
					break
				}
			}
		}
		if id != refID || j != refJ || more != refMore {
			t.Fatalf("%q, member %d: next = %d, %d, %v; objectKey = %q (%d), %d, %v", line, step, id, j, more, key, refID, refJ, refMore)
		}
		if !more || j < 0 {
			return
		}
		end := skipValue(line, j)
		i, ref = end, objectNext(line, end)
	}
}

// TestKeyWordsHoldEveryHotKey: newKeySet rejects a key too long for its
// words, so a new Spark key cannot silently never match.
func TestKeyWordsHoldEveryHotKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("newKeySet took a key longer than keyBytes")
		}
	}()
	newKeySet(string(bytes.Repeat([]byte("k"), keyBytes)))
}

// FuzzReadInt: readInt's fast path reads what readIntSlow reads, and
// skipValue skips a literal as its byte loop does.
func FuzzReadInt(f *testing.F) {
	for _, s := range []string{"1554755985516,", "0}", "123456789012345678901", "12.5e3,", "-7,", "null}"} {
		f.Add([]byte(s + strings.Repeat(" ", 20)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		wantV, wantEnd := readIntSlow(b, 0)
		if gotV, gotEnd := readInt(b, 0); gotV != wantV || gotEnd != wantEnd {
			t.Fatalf("readInt(%q) = %d, %d; readIntSlow = %d, %d", b, gotV, gotEnd, wantV, wantEnd)
		}
		if got, want := skipValue(b, 0), skipValueByBytes(b, 0); got != want {
			t.Fatalf("skipValue(%q) = %d, want %d", b, got, want)
		}
	})
}

// skipContainerByBytes is skipContainer's rule one byte at a time: brackets
// count outside strings, a backslash in a string escapes the next byte.
func skipContainerByBytes(b []byte, i int) int {
	depth, inString := 0, false
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// TestSkipContainer checks the eight-bytes-at-a-time walk against the byte
// rule on real containers cut at every length and shifted to every
// alignment, with escapes and brackets inside strings at every position.
func TestSkipContainer(t *testing.T) {
	cases := []string{
		`[{"ID":0,"Name":"internal.metrics.executorDeserializeTime","Update":464,"Value":929,"Internal":true,"Count Failed Values":true}]`,
		`{"a":"x\"}]","b":["\\",{"c":"\\\\\"["}],"d":"{{{"}`,
		`[[[[[[[[[]]]]]]]]]`, `{}`, `[]`, `{"\\":"\\"}`, `["a\\\"b", "]"]`, `[1,2,3]  `,
		`{"k":"` + strings.Repeat(`\"`, 9) + `"}`, `{"k":"` + strings.Repeat(`ab\\`, 7) + `"}`,
	}
	for _, c := range cases {
		for shift := range 9 {
			b := []byte(strings.Repeat(" ", shift) + c + strings.Repeat("]}\"", 4))
			for cut := shift; cut <= len(b); cut++ {
				if got, want := skipContainer(b[:cut], shift), skipContainerByBytes(b[:cut], shift); got != want {
					t.Fatalf("skipContainer(%q) = %d, want %d", b[:cut][shift:], got, want)
				}
			}
		}
	}
}

// FuzzSkipContainer: the word walk agrees with the byte rule on any input.
func FuzzSkipContainer(f *testing.F) {
	f.Add([]byte(`[{"ID":0,"Name":"x\"y","Update":[1,{"a":"]"}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
			return
		}
		if got, want := skipContainer(b, 0), skipContainerByBytes(b, 0); got != want {
			t.Fatalf("skipContainer(%q) = %d, want %d", b, got, want)
		}
	})
}
