package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/earshot/earshot/directory"
	"github.com/earshot/earshot/store"
)

// Subcommands that touch the store work whether or not Earshot runs: with
// the store free they open it directly; when a running Earshot holds its
// lock (bbolt allows one writer process), they ask that Earshot through
// its operator API, so a backup is consistent and an import is applied by
// the process that owns the data.

// openStoreIfFree opens the store, or returns (nil, nil) when a running
// Earshot holds it.
func openStoreIfFree(cfg *Config) (*store.DB, error) {
	db, err := store.Open(cfg.DB, store.WithLockTimeout(300*time.Millisecond))
	if errors.Is(err, store.ErrLocked) {
		return nil, nil
	}
	return db, err
}

// operatorRequest calls the running Earshot's operator API.
func operatorRequest(ctx context.Context, cfg *Config, method, path, contentType string, body io.Reader) (*http.Response, error) {
	if cfg.AdminToken == "" {
		return nil, fmt.Errorf("the store %s is in use by a running earshot; give --admin-token (EARSHOT_ADMIN_TOKEN) to go through it", cfg.DB)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+cfg.HTTPAddr+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the store is in use, and the running earshot at %s does not answer: %w", cfg.HTTPAddr, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("earshot at %s answered %s: %s", cfg.HTTPAddr, resp.Status, bytes.TrimSpace(msg))
	}
	return resp, nil
}

// backup writes a consistent copy of the store to path.
func backup(ctx context.Context, cfg *Config, path string, out io.Writer) error {
	db, err := openStoreIfFree(cfg)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
		if err := db.BackupFile(path); err != nil {
			return err
		}
		fmt.Fprintf(out, "backup of %s written to %s\n", cfg.DB, path)
		return nil
	}
	resp, err := operatorRequest(ctx, cfg, http.MethodGet, "/api/v1/admin/backup", "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := writeFileAtomic(path, resp.Body); err != nil {
		return err
	}
	fmt.Fprintf(out, "backup of the running earshot's store written to %s\n", path)
	return nil
}

// importDirectory imports a YAML directory file into the store.
func importDirectory(ctx context.Context, cfg *Config, path string, out io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	db, err := openStoreIfFree(cfg)
	if err != nil {
		return err
	}
	if db == nil {
		resp, err := operatorRequest(ctx, cfg, http.MethodPost, "/api/v1/admin/directory", "application/yaml", bytes.NewReader(raw))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(out, "imported through the running earshot: %s\n", bytes.TrimSpace(msg))
		return nil
	}
	defer db.Close()
	f, err := directory.Parse(bytes.NewReader(raw), cfg.DefaultRegion, directory.WithKnownHashes(db.KnownHashes))
	if err != nil {
		return fmt.Errorf("directory %s: %w", path, err)
	}
	res, err := db.ImportDirectory(ctx, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "imported %s: %s\n", path, res.String())
	return nil
}

// writeFileAtomic writes r to path through a temporary file in the same
// folder, so a failed download never leaves a half backup under the name.
func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".earshot-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
