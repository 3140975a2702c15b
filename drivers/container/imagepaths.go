package container

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// allowLocalImage checks that a local image (oci-layout://, oci-archive://,
// docker-archive://, rootfs://) lies in one of the client's image_paths,
// and returns src with its path resolved (symlinks followed), which is the
// path the driver then reads: the check and the use name the same file. A
// registry image passes as it is.
//
// The directories in image_paths belong to the operator, so the path is
// resolved once with EvalSymlinks: a task has no way to change what lies
// below them (it is never given a volume there by this check).
func allowLocalImage(src imageSource, imagePaths []string) (imageSource, error) {
	if src.Kind == sourceRegistry {
		return src, nil
	}
	real, err := filepath.EvalSymlinks(src.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return src, fmt.Errorf("config.image %q: %s does not exist on this client", src, src.Path)
		}
		return src, fmt.Errorf("config.image %q: %w", src, err)
	}
	for _, root := range imagePaths {
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue // a missing allowed dir allows nothing
		}
		if rel, err := filepath.Rel(rr, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			src.Path = real
			return src, nil
		}
	}
	shown := src.Path
	if real != src.Path {
		shown = fmt.Sprintf("%s (through symlinks: %s)", src.Path, real)
	}
	allowed := "none"
	if len(imagePaths) > 0 {
		allowed = strings.Join(imagePaths, ", ")
	}
	return src, fmt.Errorf(`config.image %q: %s is outside the client's image_paths (%s): local images (%s://) are read only from directories the operator allows; use a registry image, or have an operator allow the directory in the client's agent config: plugin "container" { config { image_paths = [%q] } }`,
		src, shown, allowed, src.Kind, filepath.Dir(real))
}
