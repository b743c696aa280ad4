package advisor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec names, as Spark's CompressionCodec short names and event log file
// extensions (spark.eventLog.compression.codec).
const (
	CodecNone   = "none"
	CodecLZ4    = "lz4"
	CodecLZF    = "lzf"
	CodecSnappy = "snappy"
	CodecZstd   = "zstd"
)

// Magic bytes at the start of each compressed stream.
var (
	// lz4-java LZ4BlockOutputStream: every block starts with "LZ4Block".
	lz4BlockMagic = []byte("LZ4Block")
	// snappy-java SnappyOutputStream (SnappyCodec.MAGIC_HEADER): -126 'S' 'N'
	// 'A' 'P' 'P' 'Y' 0, then version and compatible version (int32 BE).
	snappyStreamMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}
	// zstd frame magic 0xFD2FB528, little endian (RFC 8878 §3.1.1).
	zstdMagic = []byte{0x28, 0xB5, 0x2F, 0xFD}
	// compress-lzf (ning) chunks start with "ZV".
	lzfMagic = []byte{'Z', 'V'}
)

// codecFromName returns the codec Spark's file naming implies: the extension
// after stripping ".inprogress" and ".compact" (EventLogFileWriter.codecName).
func codecFromName(name string) string {
	name = strings.TrimSuffix(name, ".inprogress")
	name = strings.TrimSuffix(name, ".compact")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		switch ext := name[i+1:]; ext {
		case CodecLZ4, CodecLZF, CodecSnappy, CodecZstd:
			return ext
		case "zst":
			return CodecZstd
		}
	}
	return CodecNone
}

// sniffCodec recognises a stream by its first bytes.
func sniffCodec(head []byte) string {
	switch {
	case bytes.HasPrefix(head, lz4BlockMagic):
		return CodecLZ4
	case bytes.HasPrefix(head, snappyStreamMagic):
		return CodecSnappy
	case bytes.HasPrefix(head, zstdMagic):
		return CodecZstd
	case bytes.HasPrefix(head, lzfMagic):
		return CodecLZF
	}
	return CodecNone
}

// decompress wraps r in the decoder for codec. The bytes decide over the
// name: a file whose name says lz4 but holds plain JSON is read as plain.
func decompress(r io.Reader, nameCodec string) (io.Reader, string, func(), error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head, _ := br.Peek(8)
	codec := sniffCodec(head)
	if codec == CodecNone && nameCodec != CodecNone && len(head) > 0 && !bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("{")) {
		return nil, nameCodec, nil, fmt.Errorf("the name says %s but the data does not start with the %s stream header Spark writes (first bytes % x)", nameCodec, nameCodec, head)
	}
	switch codec {
	case CodecLZ4:
		return newLZ4BlockReader(br), codec, func() {}, nil
	case CodecSnappy:
		return newSnappyStreamReader(br), codec, func() {}, nil
	case CodecZstd:
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, codec, nil, err
		}
		return d, codec, d.Close, nil
	case CodecLZF:
		return nil, codec, nil, errors.New("lzf-compressed event logs are not supported: decompress the file or write logs with spark.eventLog.compression.codec=zstd")
	}
	return br, CodecNone, func() {}, nil
}

// lz4BlockReader decodes lz4-java's LZ4BlockOutputStream format, which Spark's
// LZ4CompressionCodec writes. Each block is a 21-byte header — magic
// "LZ4Block", a token (method 0x10 raw or 0x20 LZ4 in the high nibble, log2 of
// the block size minus 10 in the low nibble), compressed and original lengths
// and an xxHash32 checksum (seed 0x9747b28c, masked to 28 bits) of the
// original bytes, all int32 little endian — then the data. A block with both
// lengths 0 ends a stream; another stream may follow (Spark concatenates them),
// so reading goes on to the end of the input.
type lz4BlockReader struct {
	r          io.Reader
	header     [21]byte
	compressed []byte
	buf        []byte
	pos        int
	blocks     int
}

const (
	lz4MethodRaw = 0x10
	lz4MethodLZ4 = 0x20
	lz4Seed      = 0x9747b28c
	lz4MaxBlock  = 1 << (10 + 0x0F)
)

func newLZ4BlockReader(r io.Reader) *lz4BlockReader { return &lz4BlockReader{r: r} }

func (z *lz4BlockReader) Read(p []byte) (int, error) {
	for z.pos == len(z.buf) {
		if err := z.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, z.buf[z.pos:])
	z.pos += n
	return n, nil
}

func (z *lz4BlockReader) next() error {
	n, err := io.ReadFull(z.r, z.header[:])
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("lz4 block %d: truncated header (%d of 21 bytes): %w", z.blocks, n, io.ErrUnexpectedEOF)
	}
	h := z.header[:]
	if !bytes.Equal(h[:8], lz4BlockMagic) {
		return fmt.Errorf("lz4 block %d: bad magic % x, want \"LZ4Block\"", z.blocks, h[:8])
	}
	token := h[8]
	method := token & 0xF0
	level := 10 + int(token&0x0F)
	clen := int(int32(binary.LittleEndian.Uint32(h[9:])))
	olen := int(int32(binary.LittleEndian.Uint32(h[13:])))
	check := binary.LittleEndian.Uint32(h[17:])
	switch {
	case method != lz4MethodRaw && method != lz4MethodLZ4:
		return fmt.Errorf("lz4 block %d: unknown compression method 0x%02x", z.blocks, method)
	case olen < 0 || clen < 0 || olen > 1<<level || olen > lz4MaxBlock,
		(olen == 0) != (clen == 0),
		method == lz4MethodRaw && olen != clen:
		return fmt.Errorf("lz4 block %d: inconsistent lengths (compressed %d, original %d)", z.blocks, clen, olen)
	}
	z.blocks++
	if olen == 0 {
		if check != 0 {
			return fmt.Errorf("lz4 block %d: end mark with checksum %08x", z.blocks-1, check)
		}
		z.buf, z.pos = z.buf[:0], 0
		return nil // end of one stream; the next may follow
	}
	z.pos = 0
	if method == lz4MethodRaw {
		var err error
		if z.buf, err = readGrowing(z.r, z.buf, olen); err != nil {
			z.buf = z.buf[:0]
			return fmt.Errorf("lz4 block %d: truncated data: %w", z.blocks-1, io.ErrUnexpectedEOF)
		}
	} else {
		if olen > 255*clen+16 {
			return fmt.Errorf("lz4 block %d: inconsistent lengths (compressed %d, original %d)", z.blocks-1, clen, olen)
		}
		var err error
		if z.compressed, err = readGrowing(z.r, z.compressed, clen); err != nil {
			return fmt.Errorf("lz4 block %d: truncated data: %w", z.blocks-1, io.ErrUnexpectedEOF)
		}
		if cap(z.buf) < olen {
			z.buf = make([]byte, olen)
		}
		z.buf = z.buf[:olen]
		n, err := lz4.UncompressBlock(z.compressed, z.buf)
		if err != nil || n != olen {
			z.buf = z.buf[:0]
			return fmt.Errorf("lz4 block %d: corrupt data (%d of %d bytes): %v", z.blocks-1, n, olen, err)
		}
	}
	if got := xxh32(z.buf, lz4Seed) & 0x0FFFFFFF; got != check {
		z.buf = z.buf[:0]
		return fmt.Errorf("lz4 block %d: checksum %08x, want %08x", z.blocks-1, got, check)
	}
	return nil
}

// snappyStreamReader decodes snappy-java's SnappyOutputStream format, which
// Spark's SnappyCompressionCodec writes: a 16-byte header (the magic, then
// version and minimum compatible version as int32 big endian), then chunks of
// an int32 big-endian length followed by one raw snappy block. A new header
// may appear where a chunk length is expected (concatenated streams).
type snappyStreamReader struct {
	r          io.Reader
	started    bool
	lenBuf     [4]byte
	compressed []byte
	buf        []byte
	pos        int
	chunks     int
}

const snappyMaxChunk = 64 << 20

func newSnappyStreamReader(r io.Reader) *snappyStreamReader { return &snappyStreamReader{r: r} }

func (z *snappyStreamReader) Read(p []byte) (int, error) {
	for z.pos == len(z.buf) {
		if err := z.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, z.buf[z.pos:])
	z.pos += n
	return n, nil
}

func (z *snappyStreamReader) readHeader(first []byte) error {
	var h [16]byte
	copy(h[:], first)
	if _, err := io.ReadFull(z.r, h[len(first):]); err != nil {
		return fmt.Errorf("snappy stream: truncated header: %w", io.ErrUnexpectedEOF)
	}
	if !bytes.Equal(h[:8], snappyStreamMagic) {
		return fmt.Errorf("snappy stream: bad magic % x, want the SnappyOutputStream header", h[:8])
	}
	if v := binary.BigEndian.Uint32(h[8:]); v < 1 {
		return fmt.Errorf("snappy stream: unsupported version %d", v)
	}
	return nil
}

func (z *snappyStreamReader) next() error {
	if !z.started {
		z.started = true
		if err := z.readHeader(nil); err != nil {
			return err
		}
	}
	n, err := io.ReadFull(z.r, z.lenBuf[:])
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("snappy chunk %d: truncated length (%d of 4 bytes): %w", z.chunks, n, io.ErrUnexpectedEOF)
	}
	if bytes.Equal(z.lenBuf[:], snappyStreamMagic[:4]) {
		// Another stream's header: skip it.
		z.buf, z.pos = z.buf[:0], 0
		return z.readHeader(z.lenBuf[:])
	}
	clen := int(int32(binary.BigEndian.Uint32(z.lenBuf[:])))
	if clen < 0 || clen > snappyMaxChunk {
		return fmt.Errorf("snappy chunk %d: bad length %d", z.chunks, clen)
	}
	if z.compressed, err = readGrowing(z.r, z.compressed, clen); err != nil {
		return fmt.Errorf("snappy chunk %d: truncated data: %w", z.chunks, io.ErrUnexpectedEOF)
	}
	olen, err := snappy.DecodedLen(z.compressed)
	// A snappy copy element of 2 bytes yields at most 64: a longer claim is
	// corrupt, and is refused before anything is allocated for it.
	if err != nil || olen > snappyMaxChunk || olen > 32*clen+64 {
		return fmt.Errorf("snappy chunk %d: corrupt data: %v", z.chunks, err)
	}
	if cap(z.buf) < olen {
		z.buf = make([]byte, olen)
	}
	out, err := snappy.Decode(z.buf[:cap(z.buf)], z.compressed)
	if err != nil {
		z.buf = z.buf[:0]
		return fmt.Errorf("snappy chunk %d: corrupt data: %v", z.chunks, err)
	}
	z.chunks++
	z.buf, z.pos = out, 0
	return nil
}

// readGrowing reads exactly n bytes into buf (reusing its storage), growing it
// as data arrives rather than up front, so a corrupt length cannot allocate
// more than the input holds.
func readGrowing(r io.Reader, buf []byte, n int) ([]byte, error) {
	if n <= cap(buf) {
		buf = buf[:n]
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), max(64<<10, len(buf)))
		start := len(buf)
		buf = append(buf, make([]byte, step)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return buf[:start], err
		}
	}
	return buf, nil
}
