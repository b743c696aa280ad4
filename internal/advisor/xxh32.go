package advisor

import (
	"encoding/binary"
	"math/bits"
)

// xxh32 is the 32-bit xxHash of data (https://github.com/Cyan4973/xxHash,
// doc/xxhash_spec.md), which lz4-java's LZ4Block format uses as its block
// checksum.
func xxh32(data []byte, seed uint32) uint32 {
	const (
		p1 uint32 = 2654435761
		p2 uint32 = 2246822519
		p3 uint32 = 3266489917
		p4 uint32 = 668265263
		p5 uint32 = 374761393
	)
	round := func(acc, lane uint32) uint32 {
		return bits.RotateLeft32(acc+lane*p2, 13) * p1
	}
	n := len(data)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := seed+p1+p2, seed+p2, seed, seed-p1
		for len(data) >= 16 {
			v1 = round(v1, binary.LittleEndian.Uint32(data[0:]))
			v2 = round(v2, binary.LittleEndian.Uint32(data[4:]))
			v3 = round(v3, binary.LittleEndian.Uint32(data[8:]))
			v4 = round(v4, binary.LittleEndian.Uint32(data[12:]))
			data = data[16:]
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + p5
	}
	h += uint32(n)
	for len(data) >= 4 {
		h += binary.LittleEndian.Uint32(data) * p3
		h = bits.RotateLeft32(h, 17) * p4
		data = data[4:]
	}
	for _, b := range data {
		h += uint32(b) * p5
		h = bits.RotateLeft32(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
