package emulator

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// ParseProperties parses the text of a Java properties file, as written by
// java.util.Properties.store and read by Spark from spark.properties: comment
// lines start with '#' or '!', a key ends at the first unescaped '=', ':' or
// white space, a line ending in an odd number of backslashes continues on the
// next one, and \t \n \r \f \uXXXX and \<char> escapes are decoded. A later key
// overrides an earlier one. Spark reads the file as UTF-8, so invalid bytes
// become U+FFFD.
func ParseProperties(text string) (map[string]string, error) {
	props := map[string]string{}
	text = strings.ToValidUTF8(text, "\uFFFD")
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNumber := i + 1
		logical := strings.TrimLeft(lines[i], " \t\f")
		if logical == "" || logical[0] == '#' || logical[0] == '!' {
			continue
		}
		for endsWithContinuation(logical) && i+1 < len(lines) {
			i++
			logical = logical[:len(logical)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsWithContinuation(logical) {
			logical = logical[:len(logical)-1]
		}
		rawKey, rawValue := splitKeyValue(logical)
		key, err := unescapeProperty(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: key: %w", lineNumber, err)
		}
		value, err := unescapeProperty(rawValue)
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %q: %w", lineNumber, key, err)
		}
		props[key] = value
	}
	return props, nil
}

// endsWithContinuation reports whether a line ends in an odd number of
// backslashes.
func endsWithContinuation(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue splits a logical line into its still escaped key and value.
func splitKeyValue(line string) (key, value string) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	key = line[:end]
	rest := strings.TrimLeft(line[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, rest
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			code, err := hexEscape(s, i)
			if err != nil {
				return "", err
			}
			i += 4
			r := rune(code)
			if utf16.IsSurrogate(r) && i+6 < len(s)+0 && strings.HasPrefix(s[i+1:], `\u`) {
				if low, err := hexEscape(s, i+2); err == nil {
					if pair := utf16.DecodeRune(r, rune(low)); pair != unicode.ReplacementChar {
						r = pair
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// hexEscape decodes the four hex digits after the 'u' at s[u].
func hexEscape(s string, u int) (uint64, error) {
	if len(s)-(u+1) < 4 {
		return 0, fmt.Errorf("malformed \\uxxxx escape at offset %d: want four hex digits", u-1)
	}
	code, err := strconv.ParseUint(s[u+1:u+5], 16, 16)
	if err != nil {
		return 0, fmt.Errorf("malformed \\uxxxx escape %q at offset %d: want four hex digits", s[u-1:u+5], u-1)
	}
	return code, nil
}
