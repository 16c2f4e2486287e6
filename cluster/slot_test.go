package cluster

import "testing"

func TestSlot(t *testing.T) {
	cases := []struct {
		key  string
		want int
	}{
		// CRC-16/XMODEM check value of "123456789" is 0x31C3 = 12739.
		{"123456789", 12739},
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", Slot("user1000")},
		{"{user1000}.followers", Slot("user1000")},
		// Empty tag: the whole key is hashed.
		{"foo{}{bar}", int(crc16("foo{}{bar}") % SlotCount)},
		// Only the first tag counts.
		{"foo{{bar}}zap", Slot("{bar")},
		{"foo{bar}{zap}", Slot("bar")},
		// No closing brace: the whole key is hashed.
		{"{user1000", int(crc16("{user1000") % SlotCount)},
	}
	for _, tc := range cases {
		if got := Slot(tc.key); got != tc.want {
			t.Errorf("Slot(%q): got %d, want %d", tc.key, got, tc.want)
		}
	}
	if Slot("{user1000}.following") != Slot("{user1000}.followers") {
		t.Error("hash-tagged keys land in different slots")
	}
}

func TestCRC16(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(123456789): got %#x, want 0x31c3", got)
	}
}

func BenchmarkSlot(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Slot("{user1000}.following")
	}
}
