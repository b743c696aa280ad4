package advisor

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// No Spark installation is available here to produce compressed event logs,
// so the tests build them with encoders written from the stream formats
// (lz4-java's LZ4BlockOutputStream, snappy-java's SnappyOutputStream) around
// the reference block compressors, and check the bytes they write against
// the libraries' documented headers. zstd is the standard frame format, which
// klauspost/compress writes as zstd-jni does.

// encodeLZ4Block writes data as LZ4BlockOutputStream(out, blockSize) does,
// followed by its end mark.
func encodeLZ4Block(t testing.TB, data []byte, blockSize int) []byte {
	t.Helper()
	level := max(0, 32-bits.LeadingZeros32(uint32(blockSize-1))-10)
	var out bytes.Buffer
	var c lz4.Compressor
	writeBlock := func(method byte, payload []byte, original []byte) {
		var h [21]byte
		copy(h[:], "LZ4Block")
		h[8] = method | byte(level)
		binary.LittleEndian.PutUint32(h[9:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(h[13:], uint32(len(original)))
		if len(original) > 0 {
			binary.LittleEndian.PutUint32(h[17:], xxh32(original, lz4Seed)&0x0FFFFFFF)
		}
		out.Write(h[:])
		out.Write(payload)
	}
	for len(data) > 0 {
		block := data[:min(blockSize, len(data))]
		data = data[len(block):]
		buf := make([]byte, lz4.CompressBlockBound(len(block)))
		n, err := c.CompressBlock(block, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n >= len(block) {
			writeBlock(lz4MethodRaw, block, block)
		} else {
			writeBlock(lz4MethodLZ4, buf[:n], block)
		}
	}
	writeBlock(lz4MethodRaw, nil, nil)
	return out.Bytes()
}

// encodeSnappyStream writes data as SnappyOutputStream(out, blockSize) does.
func encodeSnappyStream(data []byte, blockSize int) []byte {
	var out bytes.Buffer
	out.Write(snappyStreamMagic)
	out.Write([]byte{0, 0, 0, 1, 0, 0, 0, 1}) // version 1, compatible version 1
	for len(data) > 0 {
		block := data[:min(blockSize, len(data))]
		data = data[len(block):]
		enc := snappy.Encode(nil, block)
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(enc)))
		out.Write(n[:])
		out.Write(enc)
	}
	return out.Bytes()
}

func encodeZstd(t testing.TB, data []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

func TestXXH32KnownValues(t *testing.T) {
	// Vectors from the xxHash reference (and python-xxhash's README).
	cases := map[string]struct {
		in   string
		seed uint32
		want uint32
	}{
		"empty":           {"", 0, 0x02CC5D05},
		"a":               {"a", 0, 0x550D7456},
		"abc":             {"abc", 0, 0x32D153FF},
		"long, 16+ bytes": {"Nobody inspects the spammish repetition", 0, 0xE2293B2F},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := xxh32([]byte(tc.in), tc.seed); got != tc.want {
				t.Errorf("xxh32(%q, %d) = %08x, want %08x", tc.in, tc.seed, got, tc.want)
			}
		})
	}
}

func TestEncodersWriteTheDocumentedHeaders(t *testing.T) {
	data := bytes.Repeat([]byte(`{"Event":"SparkListenerTaskStart"}`+"\n"), 2000)
	lz := encodeLZ4Block(t, data, 32<<10)
	// LZ4BlockOutputStream: "LZ4Block", token = method 0x20 | (log2(32k) − 10 = 5).
	if !bytes.HasPrefix(lz, []byte("LZ4Block\x25")) {
		t.Errorf("lz4 stream starts % x, want LZ4Block 25", lz[:9])
	}
	// The end mark: raw method, zero lengths, zero checksum.
	if end := lz[len(lz)-21:]; !bytes.Equal(end, append([]byte("LZ4Block\x15"), make([]byte, 12)...)) {
		t.Errorf("lz4 stream ends % x, want the LZ4Block end mark", end)
	}
	sn := encodeSnappyStream(data, 32<<10)
	// SnappyCodec.MAGIC_HEADER {-126,'S','N','A','P','P','Y',0}, version 1, compatible 1.
	if want := []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}; !bytes.HasPrefix(sn, want) {
		t.Errorf("snappy stream starts % x, want % x", sn[:16], want)
	}
	if zs := encodeZstd(t, data); !bytes.HasPrefix(zs, []byte{0x28, 0xB5, 0x2F, 0xFD}) {
		t.Errorf("zstd stream starts % x, want the frame magic 28 b5 2f fd", zs[:4])
	}
}
