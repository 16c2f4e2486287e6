package cluster

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// crcTable is the CRC-16/XMODEM table (polynomial 0x1021, initial value
// 0), the checksum Redis Cluster hashes keys with.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// crc16 returns the CRC-16/XMODEM checksum of s.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^s[i]]
	}
	return crc
}

// Slot returns the hash slot of key, as Redis Cluster computes it: when
// the key holds a non-empty hash tag (the bytes between the first '{' and
// the first '}' after it), only the tag is hashed, so "{user1}.a" and
// "{user1}.b" share a slot.
func Slot(key string) int {
	if i := indexByte(key, '{'); i >= 0 {
		if j := indexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % SlotCount)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
