package gopdf

// Buff for pdf content
type Buff struct {
	position int
	datas    []byte
}

// Write : write []byte to buffer
//
// Quire patch: upstream grew the buffer one appended byte at a time and
// copied byte by byte, which made building a font subset most of the cost
// of a small document.
func (b *Buff) Write(p []byte) (int, error) {
	if need := b.position + len(p); need > len(b.datas) {
		if need <= cap(b.datas) {
			b.datas = b.datas[:need]
		} else {
			newCap := 2 * cap(b.datas)
			if newCap < need {
				newCap = need
			}
			grown := make([]byte, need, newCap)
			copy(grown, b.datas)
			b.datas = grown
		}
	}
	copy(b.datas[b.position:], p)
	b.position += len(p)
	return len(p), nil
}

// Len : len of buffer
func (b *Buff) Len() int {
	return len(b.datas)
}

// Bytes : get bytes
func (b *Buff) Bytes() []byte {
	return b.datas
}

// Position : get current position
func (b *Buff) Position() int {
	return b.position
}

// SetPosition : set current position
func (b *Buff) SetPosition(pos int) {
	b.position = pos
}
