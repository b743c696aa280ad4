package emulator

import (
	"fmt"
	"unicode/utf16"
)

func utf16Units(r rune) []uint16 { return utf16.Encode([]rune{r}) }

func hex4(u uint16) string { return fmt.Sprintf("%04x", u) }
