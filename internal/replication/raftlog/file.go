package raftlog

import (
	"fmt"
	"path/filepath"

	"github.com/piermq/pier/internal/store/vfs"
)

// writeFileAtomic replaces path with data durably: it writes path.tmp,
// syncs it, renames it over path and syncs the directory. A crash leaves
// either the old or the new contents at path (and perhaps path.tmp, which
// the reader removes).
func writeFileAtomic(fsys vfs.FS, path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := fsys.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	return fsys.SyncDir(filepath.Dir(path))
}
