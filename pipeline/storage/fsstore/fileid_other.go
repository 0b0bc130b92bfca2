//go:build !unix

package fsstore

import "io/fs"

// fileID is empty where inodes are not available: the checksum cache then
// relies on size and modification time alone.
func fileID(fs.FileInfo) string { return "" }
