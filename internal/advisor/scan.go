package advisor

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the hand-written JSON scanner the event parsers are built on.
// Every function takes the line and a position and returns the position after
// what it consumed, or -1 when the input is not the JSON it expects. Nothing
// here allocates on the common path: keys and strings without escapes are
// returned as sub-slices of the line.

// ws skips JSON whitespace.
func ws(b []byte, i int) int {
	// Spark writes none: one comparison tells most bytes are not whitespace.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index of the closing quote of the string whose opening
// quote is at i-1 (i is the first byte of its content), whether the content
// holds escapes, or -1 when the string is not closed. It looks at eight bytes
// at a time for a quote or a backslash.
func stringEnd(b []byte, i int) (int, bool) {
	escaped := false
	for {
		for i+8 <= len(b) {
			if t := quoteOrBackslash(binary.LittleEndian.Uint64(b[i:])); t != 0 {
				i += bits.TrailingZeros64(t) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return -1, escaped
		}
	found:
		if b[i] == '"' {
			return i, escaped
		}
		escaped = true
		i += 2
		if i > len(b) {
			return -1, escaped
		}
	}
}

// quoteOrBackslash flags (high bit) the bytes of the eight in x that hold a
// quote or a backslash. Only the lowest flag is exact (a borrow may flag a
// byte above it), which is the one stringEnd and skipContainer use. It is
// inlined in both: skipContainer scans strings itself rather than calling
// stringEnd, whose call per string cost 2.7% more instructions over a log.
func quoteOrBackslash(x uint64) uint64 {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	q := x ^ (lo * '"')
	s := x ^ (lo * '\\')
	return ((q-lo)&^q | (s-lo)&^s) & hi
}

// readString reads the string at b[i] (which must be '"') and returns its
// content, unescaped into scratch when it holds escapes.
func readString(b []byte, i int, scratch []byte) ([]byte, int) {
	if i >= len(b) || b[i] != '"' {
		return nil, -1
	}
	end, escaped := stringEnd(b, i+1)
	if end < 0 {
		return nil, -1
	}
	s := b[i+1 : end]
	if escaped {
		var ok bool
		s, ok = unescape(s, scratch[:0])
		if !ok {
			return nil, -1
		}
	}
	return s, end + 1
}

// unescape decodes JSON string escapes, as encoding/json does (invalid
// surrogates become U+FFFD).
func unescape(s, out []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return nil, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					if v, ok := hex4(s, i+3); ok {
						r2 = v
					}
				}
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					i += 6
					r = d
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false
		}
	}
	return out, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// skipValue skips the JSON value at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := stringEnd(b, i+1)
		if end < 0 {
			return -1
		}
		return end + 1
	case '{', '[':
		return skipContainer(b, i)
	default:
		j := i
		if len(b)-i > 8 {
			// An unread integer, eight bytes at a time.
			for n := 8; n == 8 && len(b)-j > 8; j += n {
				n = digitRun(binary.LittleEndian.Uint64(b[j:]))
			}
		}
		for j < len(b) && !literalEnd[b[j]] {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// literalEnd holds the bytes that end a number or a literal.
var literalEnd = [256]bool{',': true, '}': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}

// skipContainer skips the object or array opening at b[i], counting brackets
// outside strings. It checks nesting, not the grammar inside: the values the
// advisor skips are never interpreted. It is the parser's hottest loop (a
// task's accumulables are most of its line), so strings are scanned inline,
// eight bytes at a time, and other bytes are told apart by one table lookup.
func skipContainer(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch skipClass[b[i]] {
		case 0:
			i++
			continue
		case classOpen:
			depth++
			i++
			continue
		case classClose:
			depth--
			i++
			if depth == 0 {
				return i
			}
			continue
		}
		// A string: find its closing quote, stepping over escapes.
		i++
		for {
			for i+8 <= len(b) {
				if t := quoteOrBackslash(binary.LittleEndian.Uint64(b[i:])); t != 0 {
					i += bits.TrailingZeros64(t) >> 3
					goto found
				}
				i += 8
			}
			for i < len(b) && b[i] != '"' && b[i] != '\\' {
				i++
			}
			if i >= len(b) {
				return -1
			}
		found:
			if b[i] == '"' {
				i++
				break
			}
			i += 2
		}
	}
	return -1
}

const (
	classQuote = 1
	classOpen  = 2
	classClose = 3
)

// skipClass tells the bytes skipContainer acts on from all others (zero).
var skipClass = [256]uint8{'"': classQuote, '{': classOpen, '[': classOpen, '}': classClose, ']': classClose}

// objectStart expects '{' at b[i] (after whitespace) and returns the position
// of the first key or of the closing brace.
func objectStart(b []byte, i int) int {
	i = ws(b, i)
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	return ws(b, i+1)
}

// objectKey reads the next key of an object and the ':' after it. more is
// false at the closing brace, and then next is the position after it.
func objectKey(b []byte, i int, scratch []byte) (key []byte, next int, more bool) {
	if i < 0 || i >= len(b) {
		return nil, -1, false
	}
	if b[i] == '}' {
		return nil, i + 1, false
	}
	if b[i] != '"' {
		return nil, -1, false
	}
	// Keys are plain: read them here, eight bytes at a time, falling back to
	// readString on an escape.
	if j, escaped := stringEnd(b, i+1); j >= 0 && !escaped {
		key, i = b[i+1:j], j+1
	} else if key, i = readString(b, i, scratch); i < 0 {
		return nil, -1, false
	}
	if i < len(b) && b[i] == ':' {
		i++
		if i < len(b) && b[i] > ' ' {
			return key, i, true
		}
		return key, ws(b, i), true
	}
	i = ws(b, i)
	if i >= len(b) || b[i] != ':' {
		return nil, -1, false
	}
	return key, ws(b, i+1), true
}

// objectNext steps over the ',' after a member; at the closing brace it
// leaves i on it so that objectKey ends the loop.
func objectNext(b []byte, i int) int {
	if i < 0 {
		return -1
	}
	if i+1 < len(b) && b[i] == ',' && b[i+1] == '"' {
		return i + 1 // the next member, as Spark writes it
	}
	i = ws(b, i)
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case ',':
		i = ws(b, i+1)
		if i < len(b) && b[i] == '}' {
			return -1 // trailing comma
		}
		return i
	case '}':
		return i
	}
	return -1
}

// readInt reads a JSON number as an int64. Fractions are truncated toward
// zero and values outside int64 saturate, so a number never fails a line.
// A null reads as 0.
//
// A non-negative integer of up to fifteen digits (nearly every number Spark
// writes: counts, bytes, times in ms and ns) is read eight digits at a time
// with no loop; readIntSlow reads all others.
func readInt(b []byte, i int) (int64, int) {
	if i >= 0 && len(b)-i > 16 {
		x := binary.LittleEndian.Uint64(b[i:])
		n := digitRun(x)
		if n == 8 {
			y := binary.LittleEndian.Uint64(b[i+8:])
			if m := digitRun(y); m < 8 && !fractionStart[b[i+8+m]] {
				return int64(digitsValue(x, 8)*pow10[m] + digitsValue(y, m)), i + 8 + m
			}
		} else if n > 0 && !fractionStart[b[i+n]] {
			return int64(digitsValue(x, n)), i + n
		}
	}
	return readIntSlow(b, i)
}

// fractionStart holds the bytes after the digits of a number that make it
// a fraction or an exponent.
var fractionStart = [256]bool{'.': true, 'e': true, 'E': true}

var pow10 = [8]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}

// digitRun returns how many of the eight bytes of x (the first in its lowest
// byte) are ASCII digits before the first that is not.
func digitRun(x uint64) int {
	const (
		zeros = 0x3030303030303030
		above = 0x4646464646464646 // 0x80 - ':' in each byte: a byte above '9' gets its high bit set
		high  = 0x8080808080808080
	)
	// A byte below '0' borrows and one above '9' carries into the byte
	// above it, which can only flag bytes after the first non-digit.
	return bits.TrailingZeros64(((x-zeros)|(x+above)|x)&high) >> 3
}

// digitsValue returns the value of the first n (0 to 8) bytes of x, which
// are ASCII digits, the first the most significant.
func digitsValue(x uint64, n int) uint64 {
	if n == 0 {
		return 0
	}
	// Move the digits to the top bytes: the bytes below read as leading
	// zeros. Then add up pairs, quads and the two halves.
	x = (x - 0x3030303030303030) << (64 - 8*n)
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
	x = (x*100 + x>>16) & 0x0000ffff0000ffff
	return (x*10000 + x>>32) & 0xffffffff
}

// readIntSlow is readInt for every number its fast path does not take.
func readIntSlow(b []byte, i int) (int64, int) {
	if i < 0 || i >= len(b) {
		return 0, -1
	}
	start := i
	neg := false
	if b[i] == '-' {
		neg = true
		i++
	}
	var v uint64
	first := i
	// Nineteen digits never overflow a uint64 (the first eighteen are below
	// 10^18): they are read without the check.
	for end := min(len(b), first+19); i < end; i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + uint64(c)
	}
	overflow := false
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if v > (math.MaxUint64-9)/10 {
			overflow = true
		}
		v = v*10 + uint64(c)
	}
	digits := i - first
	if digits == 0 {
		if i+4 <= len(b) && string(b[i:i+4]) == "null" && !neg {
			return 0, i + 4
		}
		return 0, -1
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		j := skipValue(b, start)
		if j < 0 {
			return 0, -1
		}
		f, err := strconv.ParseFloat(string(b[start:j]), 64)
		if err != nil && !isRangeErr(err) {
			return 0, -1
		}
		return clampFloat(f), j
	}
	if overflow || v > math.MaxInt64 {
		if neg {
			return math.MinInt64, i
		}
		return math.MaxInt64, i
	}
	if neg {
		return -int64(v), i
	}
	return int64(v), i
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func clampFloat(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// readBool reads true or false (null reads as false).
func readBool(b []byte, i int) (bool, int) {
	switch {
	case i+4 <= len(b) && string(b[i:i+4]) == "true":
		return true, i + 4
	case i+5 <= len(b) && string(b[i:i+5]) == "false":
		return false, i + 5
	case i+4 <= len(b) && string(b[i:i+4]) == "null":
		return false, i + 4
	}
	return false, -1
}

// keySet is the keys of one kind of object in the order Spark's JsonProtocol
// writes them. A parser walking such an object checks first whether the member
// is one of the few keys after the previous one (Spark versions add and drop
// keys, never reorder them), comparing the line's bytes with the key's as
// 8-byte words, instead of scanning for the key's end and looking it up: on
// the hot events (task ends, stages) that is nearly every key. Keys written in
// another order, or unknown, take the general path, so the result does not
// depend on the order.
type keySet struct {
	names []string
	keys  []keyWords
}

// keyWords is a key as the line holds it after the byte before it (the
// object's '{' or the ',' after the previous value, which keyCursor knows):
// `?"name":`, as 8-byte words with that first byte zero. The words are
// compared all at once, masked, with one branch and no call or loop (a memory
// compare per key cost a tenth of the key loop, a loop over the words a
// third of it), and the comma or brace is checked in the same compare.
type keyWords struct {
	words [keyWordCount]uint64 // the bytes, zero-padded
	masks [keyWordCount]uint64 // which bytes of words count
	n     int                  // len(`?"name":`)
}

// keyWordCount bounds the keys keySet takes: 8 × keyWordCount bytes, enough
// for every key of the hot events (the longest, `,"Peak Off Heap Execution
// Memory":`, is 34).
const keyWordCount = 5

// keyBytes is the longest key, with the byte before it, a keyWords holds.
const keyBytes = 8 * keyWordCount

// keyLookahead is how many keys past the expected one are tried: a version
// of Spark may leave out up to three consecutive keys of another's.
const keyLookahead = 4

func newKeySet(names ...string) *keySet {
	ks := &keySet{names: names}
	for _, n := range names {
		q := "\x00\"" + n + `":`
		if len(q) > keyBytes {
			panic("advisor: keySet key longer than keyBytes: " + n)
		}
		var word [keyBytes]byte
		copy(word[:], q)
		k := keyWords{n: len(q)}
		for w := range keyWordCount {
			k.words[w] = binary.LittleEndian.Uint64(word[8*w:])
			if left := len(q) - 8*w; left > 0 {
				k.masks[w] = ^uint64(0) >> (64 - 8*min(left, 8))
			}
		}
		ks.keys = append(ks.keys, k)
	}
	return ks
}

// keyCursor is a walk through one object with a keySet. Start it as
// keyCursor{lead: '{'} with the position of the object's '{'; after each
// member, pass next the position right after its value.
type keyCursor struct {
	guess int    // the index of the key expected next
	lead  uint64 // the byte before the next key: '{' for the first, then ','
}

// next reads the key of the next member, from the position of the byte
// before it ('{' or the ',' after the previous value, whitespace allowed),
// and returns its index in ks (-1 for a key not in it) and the position of
// its value; more is false at the object's end, and then next is the
// position after its '}'. The keys from the cursor's guess on are tried first. This is
// the path of nearly every key of the hot events, kept small so that its
// values stay in registers; nextSlow takes everything else.
func (ks *keySet) next(b []byte, i int, c *keyCursor, scratch []byte) (id, next int, more bool) {
	// The words may run past the line's end into the chunk it lies in (a
	// line is a slice of its chunk): a key matched there must still end
	// inside the line.
	if i >= 0 && cap(b)-i >= keyBytes {
		w := b[i : i+keyBytes]
		w0, w1, w2, w3, w4 := binary.LittleEndian.Uint64(w)^c.lead, binary.LittleEndian.Uint64(w[8:]),
			binary.LittleEndian.Uint64(w[16:]), binary.LittleEndian.Uint64(w[24:]), binary.LittleEndian.Uint64(w[32:])
		for g, last := c.guess, min(c.guess+keyLookahead, len(ks.keys)); g < last; g++ {
			k := &ks.keys[g]
			// One branch per key tried: the bytes past the key's end are
			// masked out, so short keys compare as long ones.
			d := (w0 ^ k.words[0]) & k.masks[0]
			d |= (w1 ^ k.words[1]) & k.masks[1]
			d |= (w2 ^ k.words[2]) & k.masks[2]
			d |= (w3 ^ k.words[3]) & k.masks[3]
			d |= (w4 ^ k.words[4]) & k.masks[4]
			if d == 0 && i+k.n < len(b) {
				if i += k.n; b[i] <= ' ' {
					i = ws(b, i)
				}
				c.guess, c.lead = g+1, ','
				return g, i, true
			}
		}
		if i < len(b) && b[i] == '}' && c.lead == ',' {
			return -1, i + 1, false // the object's end, right after a value
		}
	}
	return ks.nextSlow(b, i, c, scratch)
}

// nextSlow is next for a key near the end of the line, a key that is not one
// of the expected ones, the object's end, whitespace around the comma or
// brace, and the errors.
func (ks *keySet) nextSlow(b []byte, i int, c *keyCursor, scratch []byte) (id, next int, more bool) {
	if c.lead == '{' {
		i = objectStart(b, i)
	} else {
		i = objectNext(b, i)
	}
	c.lead = ','
	key, next, more := objectKey(b, i, scratch)
	if !more {
		return -1, next, false
	}
	for n, name := range ks.names {
		if name == string(key) {
			c.guess = n + 1
			return n, next, true
		}
	}
	return -1, next, true
}
