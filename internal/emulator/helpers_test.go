package emulator

import (
	"encoding/json"
	"fmt"
	"unicode/utf16"
)

func utf16Units(r rune) []uint16 { return utf16.Encode([]rune{r}) }

func hex4(u uint16) string { return fmt.Sprintf("%04x", u) }

// eventName reads the "Event" field of an event value.
func eventName(ev any) string {
	b, _ := json.Marshal(ev)
	var m struct{ Event string }
	_ = json.Unmarshal(b, &m)
	return m.Event
}
