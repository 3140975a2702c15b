package container

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageConfig is the part of an image's config the driver applies, as
// Docker does, when the task does not override it.
type imageConfig struct {
	Entrypoint []string `json:",omitempty"`
	Cmd        []string `json:",omitempty"`
	Env        []string `json:",omitempty"`
	WorkingDir string   `json:",omitempty"`
	User       string   `json:",omitempty"`
}

// imageRecord is a prepared image: <cache>/images/<ID>.json. Its file's
// modification time is when a task last used it.
type imageRecord struct {
	// ID is the hex manifest digest, or for a rootfs directory the hex
	// sha256 of its path.
	ID     string
	Source string
	// LayerIDs are hex layer DiffIDs, bottom first (none for a rootfs dir).
	LayerIDs []string `json:",omitempty"`
	// RootfsDir is the directory of a rootfs:// image.
	RootfsDir string `json:",omitempty"`
	Config    imageConfig
}

// imageStore is the content-addressed image cache shared by every task of
// the client:
//
//	<root>/layers/<diffid hex>/   one unpacked layer (an overlayfs lower dir)
//	<root>/images/<id>.json       an image: its layers and config
//	<root>/refs/<sha256(ref)>     the image id a registry reference resolved to
//	<root>/leases/<task key>      the image id a task uses (kept across restarts)
//	<root>/tmp/                   unpacks in progress, renamed into place when complete
//
// Its methods are safe for concurrent use; pulls and garbage collection are
// serialised by one mutex (so GC never removes a layer a pull is adding).
type imageStore struct {
	root string
	log  *slog.Logger
	// pullTimeout bounds a registry pull.
	pullTimeout time.Duration

	mu sync.Mutex
}

func newImageStore(root string, log *slog.Logger, pullTimeout time.Duration) *imageStore {
	return &imageStore{root: root, log: log, pullTimeout: pullTimeout}
}

func (s *imageStore) dir(parts ...string) string {
	return filepath.Join(append([]string{s.root}, parts...)...)
}

// lowerDirs returns the record's overlayfs lower dirs, topmost first (the
// order overlayfs wants).
func (s *imageStore) lowerDirs(rec *imageRecord) []string {
	if rec.RootfsDir != "" {
		return []string{rec.RootfsDir}
	}
	out := make([]string, 0, len(rec.LayerIDs))
	for i := len(rec.LayerIDs) - 1; i >= 0; i-- {
		out = append(out, s.dir("layers", rec.LayerIDs[i]))
	}
	return out
}

// Acquire prepares the image (pulling and unpacking what the cache lacks)
// and records that task uses it, so garbage collection keeps it.
func (s *imageStore) Acquire(ctx context.Context, src imageSource, task string, forcePull bool) (*imageRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range []string{"layers", "images", "refs", "leases", "tmp"} {
		if err := os.MkdirAll(s.dir(d), 0o700); err != nil {
			return nil, fmt.Errorf("image cache %s: %w", s.root, err)
		}
	}
	rec, err := s.prepare(ctx, src, forcePull)
	if err != nil {
		return nil, err
	}
	if err := writeJSONAtomic(s.dir("leases", leaseName(task)), rec.ID); err != nil {
		return nil, fmt.Errorf("record image lease: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(s.dir("images", rec.ID+".json"), now, now)
	return rec, nil
}

// Release drops task's lease; the image stays until garbage collected.
func (s *imageStore) Release(task string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.dir("leases", leaseName(task))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("release image lease of task %q: %w", task, err)
	}
	return nil
}

func leaseName(task string) string {
	sum := sha256.Sum256([]byte(task))
	return hex.EncodeToString(sum[:16])
}

func refName(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return hex.EncodeToString(sum[:])
}

// prepare returns the image record for src, building it when needed.
func (s *imageStore) prepare(ctx context.Context, src imageSource, forcePull bool) (*imageRecord, error) {
	if src.Kind == sourceRootfs {
		fi, err := os.Stat(src.Path)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w; create the root filesystem directory first", src, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("image %s: %s is not a directory", src, src.Path)
		}
		rec := &imageRecord{ID: "rootfs-" + refName(src.Path)[:32], Source: src.String(), RootfsDir: src.Path}
		if err := writeJSONAtomic(s.dir("images", rec.ID+".json"), rec); err != nil {
			return nil, fmt.Errorf("record image %s: %w", src, err)
		}
		return rec, nil
	}
	// A registry reference pinned by digest, or a tag other than latest,
	// is reused from the cache without contacting the registry.
	if src.Kind == sourceRegistry && !forcePull && !strings.HasSuffix(src.Ref, ":latest") {
		if rec, ok := s.cachedRef(src.Ref); ok {
			return rec, nil
		}
	}
	img, cleanup, err := s.open(ctx, src)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rec, err := s.unpack(ctx, src, img)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", src, err)
	}
	if src.Kind == sourceRegistry {
		if err := writeJSONAtomic(s.dir("refs", refName(src.Ref)), rec.ID); err != nil {
			return nil, fmt.Errorf("record image reference %s: %w", src, err)
		}
	}
	return rec, nil
}

// cachedRef returns the image a registry reference resolved to before, if
// it is still complete in the cache.
func (s *imageStore) cachedRef(ref string) (*imageRecord, bool) {
	var id string
	if err := readJSON(s.dir("refs", refName(ref)), &id); err != nil {
		return nil, false
	}
	rec, err := s.record(id)
	if err != nil {
		return nil, false
	}
	for _, l := range rec.LayerIDs {
		if _, err := os.Stat(s.dir("layers", l)); err != nil {
			return nil, false
		}
	}
	return rec, true
}

func (s *imageStore) record(id string) (*imageRecord, error) {
	var rec imageRecord
	if err := readJSON(s.dir("images", id+".json"), &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// open returns the image src names and a function releasing what opening
// it needed (an extracted archive).
func (s *imageStore) open(ctx context.Context, src imageSource) (v1.Image, func(), error) {
	noop := func() {}
	switch src.Kind {
	case sourceOCILayout:
		img, err := imageFromLayout(src.Path, src.Ref)
		if err != nil {
			return nil, noop, fmt.Errorf("image %s: %w", src, err)
		}
		return img, noop, nil
	case sourceOCIArchive:
		tmp, err := os.MkdirTemp(s.dir("tmp"), "oci-archive-")
		if err != nil {
			return nil, noop, fmt.Errorf("image %s: %w", src, err)
		}
		cleanup := func() { _ = os.RemoveAll(tmp) }
		if err := extractTar(src.Path, tmp); err != nil {
			cleanup()
			return nil, noop, fmt.Errorf("image %s: extract OCI archive: %w%s", src, err, archiveHint(err))
		}
		img, err := imageFromLayout(tmp, src.Ref)
		if err != nil {
			cleanup()
			return nil, noop, fmt.Errorf("image %s: %w", src, err)
		}
		return img, cleanup, nil
	case sourceDockerArchive:
		var tag *name.Tag
		if src.Ref != "" {
			t, err := name.NewTag(src.Ref)
			if err != nil {
				return nil, noop, fmt.Errorf("image %s: tag %q: %w", src, src.Ref, err)
			}
			tag = &t
		}
		img, err := tarball.ImageFromPath(src.Path, tag)
		if err != nil {
			return nil, noop, fmt.Errorf("image %s: read docker archive: %w%s", src, err, archiveHint(err))
		}
		return img, noop, nil
	case sourceRegistry:
		ref, err := name.ParseReference(src.Ref)
		if err != nil {
			return nil, noop, fmt.Errorf("image %s: %w", src, err)
		}
		ctx, cancel := context.WithTimeout(ctx, s.pullTimeout)
		img, err := remote.Image(ref,
			remote.WithContext(ctx),
			remote.WithAuthFromKeychain(authn.DefaultKeychain),
			remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
		if err != nil {
			cancel()
			return nil, noop, fmt.Errorf("pull image %s from registry %s: %w; check that this host can reach the registry (and the credentials in ~/.docker/config.json), or use a local image (oci-layout://, oci-archive://, docker-archive://, rootfs://)", src, ref.Context().RegistryStr(), err)
		}
		return img, cancel, nil
	}
	return nil, noop, fmt.Errorf("image %s: unsupported source kind %q", src, src.Kind)
}

// imageFromLayout picks the image ref names in an OCI layout: a digest, a
// org.opencontainers.image.ref.name annotation, or (with ref empty) the
// only image, descending into nested indexes by platform.
func imageFromLayout(dir, ref string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	return pickImage(idx, ref, true)
}

func pickImage(idx v1.ImageIndex, ref string, top bool) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	var cands []v1.Descriptor
	var names []string
	for _, d := range im.Manifests {
		n := d.Annotations["org.opencontainers.image.ref.name"]
		if n != "" {
			names = append(names, n)
		}
		switch {
		case !top || ref == "":
			if d.Platform == nil || (d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH) {
				cands = append(cands, d)
			}
		case d.Digest.String() == ref, n == ref, strings.HasSuffix(n, ":"+ref), d.Annotations["io.containerd.image.name"] == ref:
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		if ref != "" && top {
			return nil, fmt.Errorf("no image %q in the layout (it has: %s)", ref, strings.Join(names, ", "))
		}
		return nil, fmt.Errorf("no linux/%s image in the layout", runtime.GOARCH)
	}
	if len(cands) > 1 && top && ref == "" {
		return nil, fmt.Errorf("the layout holds %d images (%s): name one with :<ref> or @sha256:<digest>", len(cands), strings.Join(names, ", "))
	}
	d := cands[0]
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("read nested index %s: %w", d.Digest, err)
		}
		return pickImage(child, "", false)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", d.Digest, err)
	}
	return img, nil
}

// unpack unpacks the layers the cache lacks and records the image.
func (s *imageStore) unpack(ctx context.Context, src imageSource, img v1.Image) (*imageRecord, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	rec := &imageRecord{ID: digest.Hex, Source: src.String(), Config: imageConfig{
		Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, Env: cf.Config.Env,
		WorkingDir: cf.Config.WorkingDir, User: cf.Config.User,
	}}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The config lists the layers' diff IDs; asking a compressed layer
		// for its own would decompress and hash it on every start.
		var diffID v1.Hash
		if len(cf.RootFS.DiffIDs) == len(layers) {
			diffID = cf.RootFS.DiffIDs[i]
		} else if diffID, err = l.DiffID(); err != nil {
			return nil, fmt.Errorf("layer %d: diff id: %w", i, err)
		}
		rec.LayerIDs = append(rec.LayerIDs, diffID.Hex)
		dst := s.dir("layers", diffID.Hex)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		start := time.Now()
		if err := s.unpackOne(l, dst); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, diffID, err)
		}
		s.log.Info("unpacked image layer", "image", src.String(), "layer", diffID.String(), "duration", time.Since(start))
	}
	if err := writeJSONAtomic(s.dir("images", rec.ID+".json"), rec); err != nil {
		return nil, fmt.Errorf("record image: %w", err)
	}
	return rec, nil
}

// unpackOne unpacks a layer into a temp dir and renames it to dst.
func (s *imageStore) unpackOne(l v1.Layer, dst string) error {
	tmp, err := os.MkdirTemp(s.dir("tmp"), "layer-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	if err := unpackLayer(rc, tmp); err != nil {
		return err
	}
	// Drain so a truncated blob fails the DiffID check here, not later.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := rc.Close(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// GC removes images no task has used for at least delay and that no task
// leases, then every layer no remaining image refers to. It returns how many
// images it removed.
func (s *imageStore) GC(delay time.Duration) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	leased := map[string]bool{}
	leases, err := os.ReadDir(s.dir("leases"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("image gc: %w", err)
	}
	for _, e := range leases {
		var id string
		if err := readJSON(s.dir("leases", e.Name()), &id); err == nil {
			leased[id] = true
		}
	}
	images, err := os.ReadDir(s.dir("images"))
	if err != nil {
		return 0, fmt.Errorf("image gc: %w", err)
	}
	keepLayers := map[string]bool{}
	removed := 0
	var errs []error
	for _, e := range images {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		rec, err := s.record(id)
		info, ierr := e.Info()
		if err == nil && (leased[id] || ierr != nil || time.Since(info.ModTime()) < delay) {
			for _, l := range rec.LayerIDs {
				keepLayers[l] = true
			}
			continue
		}
		if err := os.Remove(s.dir("images", e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		s.log.Info("image garbage collected", "image", id)
	}
	// Forget references to removed images.
	if refs, err := os.ReadDir(s.dir("refs")); err == nil {
		for _, e := range refs {
			var id string
			if err := readJSON(s.dir("refs", e.Name()), &id); err != nil || !fileExists(s.dir("images", id+".json")) {
				_ = os.Remove(s.dir("refs", e.Name()))
			}
		}
	}
	layers, err := os.ReadDir(s.dir("layers"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range layers {
		if keepLayers[e.Name()] {
			continue
		}
		if err := os.RemoveAll(s.dir("layers", e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("image gc: %w", err)
	}
	return removed, nil
}

// Images returns the ids of the recorded images, sorted.
func (s *imageStore) Images() []string {
	entries, _ := os.ReadDir(s.dir("images"))
	var out []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// extractTar extracts a plain tar (an OCI archive) into dir.
func extractTar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target, err := securejoin.SecureJoin(dir, hdr.Name)
		if err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// writeJSONAtomic writes v as JSON to path through a temp file and rename.
func writeJSONAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
	}
	return werr
}

// archiveHint explains a tar read error: the archive is damaged, not the
// task's configuration.
func archiveHint(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, tar.ErrHeader) {
		return " (the file is not a complete tar archive: it is corrupt or truncated; build or download it again)"
	}
	return ""
}
