package container

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// sourceKind says where an image comes from.
type sourceKind string

// Image sources, as written in config.image ("<kind>://<path>"; a plain
// reference is a registry image).
const (
	sourceRegistry      sourceKind = "registry"
	sourceOCILayout     sourceKind = "oci-layout"
	sourceOCIArchive    sourceKind = "oci-archive"
	sourceDockerArchive sourceKind = "docker-archive"
	sourceRootfs        sourceKind = "rootfs"
)

// imageSource is a parsed config.image.
type imageSource struct {
	Kind sourceKind
	// Path is the absolute local path (every kind but registry).
	Path string
	// Ref selects an image inside a layout or archive (a ref.name annotation
	// or tag, or a digest "sha256:..."); for a registry image it is the
	// normalised reference.
	Ref string
}

// String returns the source as config.image writes it.
func (s imageSource) String() string {
	if s.Kind == sourceRegistry {
		return s.Ref
	}
	out := string(s.Kind) + "://" + s.Path
	if s.Ref != "" {
		if strings.HasPrefix(s.Ref, "sha256:") {
			return out + "@" + s.Ref
		}
		return out + ":" + s.Ref
	}
	return out
}

const imageHelp = `use a registry reference ("docker.io/library/busybox:1.36"), oci-layout:///path[:ref], oci-archive:///path.tar[:ref], docker-archive:///path.tar[:tag] or rootfs:///path`

// parseImage parses config.image.
func parseImage(s string) (imageSource, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return imageSource{}, fmt.Errorf("image is empty: %s", imageHelp)
	}
	scheme, rest, found := strings.Cut(s, "://")
	if !found {
		ref, err := name.ParseReference(s)
		if err != nil {
			return imageSource{}, fmt.Errorf("image %q is not a valid registry reference (%v): %s", s, err, imageHelp)
		}
		return imageSource{Kind: sourceRegistry, Ref: ref.Name()}, nil
	}
	kind := sourceKind(scheme)
	switch kind {
	case sourceOCILayout, sourceOCIArchive, sourceDockerArchive, sourceRootfs:
	default:
		return imageSource{}, fmt.Errorf("image %q: unknown source %q: %s", s, scheme, imageHelp)
	}
	if !strings.HasPrefix(rest, "/") {
		return imageSource{}, fmt.Errorf("image %q: the path must be absolute, as in %s:///abs/path (three slashes)", s, scheme)
	}
	path, ref := rest, ""
	if kind != sourceRootfs {
		if i := strings.Index(rest, ".tar:"); i > 0 && kind != sourceOCILayout {
			// An archive's ref may hold a colon itself ("app:1").
			path, ref = rest[:i+4], rest[i+5:]
		} else if i := strings.LastIndex(rest, "@"); i > 0 && strings.HasPrefix(rest[i+1:], "sha256:") {
			path, ref = rest[:i], rest[i+1:]
		} else if i := strings.LastIndex(rest, ":"); i > 0 && !strings.Contains(rest[i+1:], "/") {
			path, ref = rest[:i], rest[i+1:]
		}
		if ref == "" && strings.HasSuffix(rest, ":") {
			return imageSource{}, fmt.Errorf("image %q: empty ref after ':'", s)
		}
	}
	clean := filepath.Clean(path)
	if clean == "/" {
		return imageSource{}, fmt.Errorf("image %q: the path must name a directory or file below /", s)
	}
	return imageSource{Kind: kind, Path: clean, Ref: ref}, nil
}
