package zkgroup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// saved is the content of the saved file: the group, and what it was
// formed for.
type saved struct {
	Path   string `json:"path"`
	NodeID string `json:"node_id"`
	Group
}

// load reads the saved group; nil without a file. A file for another path,
// broker or id is an error: the member's Raft state belongs to that group.
func load(opts Options) (*Group, error) {
	if opts.SaveFile == "" {
		return nil, nil
	}
	sv, err := readSaved(opts.SaveFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case sv.Path != opts.Path:
		err = fmt.Errorf("formed under %s, not %s", sv.Path, opts.Path)
	case sv.Broker != opts.Self.Broker:
		err = fmt.Errorf("formed for broker %q, not %q", sv.Broker, opts.Self.Broker)
	case sv.NodeID != opts.Self.ID || sv.Members[opts.Self.ID] == "":
		err = fmt.Errorf("formed with this member as %q, not %q (members: %s)", sv.NodeID, opts.Self.ID, ids(sv.Members))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s was %v: this data directory belongs to that group (delete the file and the data directory to join another)",
			ErrSaved, opts.SaveFile, err)
	}
	return &sv.Group, nil
}

// ReadSaved returns the group saved in file by a member (for tools that
// ask the members, such as pier cluster status).
func ReadSaved(file string) (*Group, error) {
	sv, err := readSaved(file)
	if err != nil {
		return nil, err
	}
	return &sv.Group, nil
}

func readSaved(file string) (*saved, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("zkgroup: saved group: %w", err)
	}
	var sv saved
	if err := json.Unmarshal(data, &sv); err != nil {
		return nil, fmt.Errorf("zkgroup: saved group %s: %v", file, err)
	}
	g, err := parseGroup(data)
	if err != nil {
		return nil, fmt.Errorf("zkgroup: saved group %s: %v", file, err)
	}
	sv.Group = *g
	return &sv, nil
}

// save writes the group atomically: a temporary file, synced, renamed
// over the file, the directory synced.
func save(opts Options, g *Group) error {
	if opts.SaveFile == "" {
		return nil
	}
	data, err := json.MarshalIndent(saved{Path: opts.Path, NodeID: opts.Self.ID, Group: *g}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(opts.SaveFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("zkgroup: save group: %w", err)
	}
	if err := writeSynced(opts.SaveFile+".tmp", append(data, '\n')); err != nil {
		return fmt.Errorf("zkgroup: save group: %w", err)
	}
	if err := os.Rename(opts.SaveFile+".tmp", opts.SaveFile); err != nil {
		return fmt.Errorf("zkgroup: save group: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("zkgroup: save group: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("zkgroup: save group: sync %s: %w", dir, err)
	}
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
