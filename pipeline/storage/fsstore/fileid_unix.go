//go:build unix

package fsstore

import (
	"io/fs"
	"strconv"
	"syscall"
)

// fileID names the file behind fi: its device and inode. Every write makes a
// new inode (a temporary file renamed or linked into place), so together
// with size and modification time it tells one version of an object from
// the next.
func fileID(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
}
