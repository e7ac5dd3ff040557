//! A sorted walk of a function folder, in artifact paths: links that stay inside the folder are
//! kept as links; links that leave it for a place inside the project boundary (workspace
//! packages) are followed and copied as real files; a link that leaves the boundary is an
//! input error. Only regular files are recorded; lamina's own outputs, temporary files and
//! cache are never entered.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{FileEntry, Owner, Stamp};

/// What the walk found.
#[derive(Debug, Default)]
pub struct Tree {
    /// Files and kept links, in walk order (sorted by path).
    pub entries: Vec<FileEntry>,
    /// Kept links: artifact path of the link → artifact path of its target.
    pub links: BTreeMap<String, String>,
    /// Artifact paths of folders reached through a link that leaves the function folder.
    pub materialized: Vec<String>,
    /// Links that leave the project boundary, never followed. They are an error if their
    /// path would ship (`Refused::error`): a virtual environment's `bin/python`, which points
    /// at the machine's Python, never ships.
    pub refused: Vec<Refused>,
    pub warnings: Vec<String>,
}

/// A link whose target is outside the project boundary.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Its artifact path.
    pub path: String,
    /// The link itself, and where it leads.
    pub link: PathBuf,
    pub target: PathBuf,
    pub boundary: PathBuf,
}

impl Refused {
    /// The input error: the link, its target, and how to allow it.
    pub fn error(&self) -> Error {
        Error::input(
            &self.link,
            format!(
                "a link to {}, outside the project ({}); lamina reads and ships nothing outside it. If that is meant to ship, allow it with --allow-outside {} (or allow_outside in lamina.toml)",
                self.target.display(),
                self.boundary.display(),
                self.target.display()
            ),
        )
    }
}

/// Where the walk may go. Every path is canonical.
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    /// The project boundary (`boundary`): links may lead anywhere inside it.
    pub boundary: PathBuf,
    /// Folders outside the boundary the user allowed (`--allow-outside`, `allow_outside`).
    pub allowed: Vec<PathBuf>,
    /// Folders never entered: this run's output folder and the cache.
    pub skip: Vec<PathBuf>,
}

impl Bounds {
    fn allows(&self, target: &Path) -> bool {
        target.starts_with(&self.boundary) || self.allowed.iter().any(|dir| target.starts_with(dir))
    }

    fn skips(&self, path: &Path) -> bool {
        self.skip.iter().any(|dir| path.starts_with(dir))
    }
}

/// The name of the marker lamina leaves in each folder it writes output to (and in its cache):
/// one name per line of what lamina wrote there, or `*` for the whole folder. A walk never
/// enters or ships what a marker names, whatever `--out` said when it was written.
pub const OUTPUT_MARKER: &str = ".lamina-output";

/// Names starting with this are lamina's own (markers, temporary files): never shipped.
pub const OWN_PREFIX: &str = ".lamina-";

/// A project file a tool wrote for lamina to read (`.lamina-project-<pid>.yml`: the resolved
/// service of the Serverless plugin, `packaging/npm/serverless-lamina`): left out like every
/// `.lamina-` name, without the warning about an interrupted build.
pub const PROJECT_PREFIX: &str = ".lamina-project-";

/// Walks `root` (already canonical) within `bounds`.
pub fn walk(root: &Path, bounds: &Bounds) -> Result<Tree> {
    Walker { root, bounds }.walk_dir(root, "", &[])
}

/// The project a function folder belongs to, for the links its walk may follow: the git work
/// tree it is in, else the outermost folder above it that holds a workspace root or a project
/// file (`package.json` with `workspaces`, `pnpm-workspace.yaml`, `lamina.toml`, a SAM
/// template, `serverless.yml`), else the function folder itself. The file system root and the
/// home folder are never a boundary.
pub fn project_boundary(root: &Path) -> PathBuf {
    let home = std::env::var_os("HOME").and_then(|home| Path::new(&home).canonicalize().ok());
    let mut boundary = root.to_path_buf();
    for folder in root.ancestors() {
        if folder.parent().is_none() || home.as_deref() == Some(folder) {
            break;
        }
        if folder.join(".git").exists() {
            return folder.to_path_buf();
        }
        if is_project_root(folder) {
            boundary = folder.to_path_buf();
        }
    }
    boundary
}

/// Holds a workspace root or a project file.
fn is_project_root(folder: &Path) -> bool {
    const FILES: [&str; 8] = [
        "pnpm-workspace.yaml",
        "lerna.json",
        "lamina.toml",
        "template.yaml",
        "template.yml",
        "serverless.yml",
        "serverless.yaml",
        "samconfig.toml",
    ];
    if FILES.iter().any(|name| folder.join(name).is_file()) {
        return true;
    }
    // A workspace root's package.json names its workspaces. Read bounded: it is only a hint.
    crate::input::read_small(&folder.join("package.json"), 1 << 20)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|value| value.get("workspaces").is_some())
}

impl Tree {
    /// Appends what a later part of the walk found, keeping walk order.
    fn append(&mut self, mut other: Tree) {
        self.entries.append(&mut other.entries);
        self.links.append(&mut other.links);
        self.materialized.append(&mut other.materialized);
        self.refused.append(&mut other.refused);
        self.warnings.append(&mut other.warnings);
    }
}

/// The walk is syscall-bound (a `getdents` per folder, a `stat` per file), so a folder's
/// children are walked in parallel and their findings joined in sorted order: the result is
/// the same as a sequential walk's.
struct Walker<'a> {
    root: &'a Path,
    bounds: &'a Bounds,
}

impl Walker<'_> {
    /// `followed`: real folders entered through links that leave the root, innermost last; a
    /// link back to one of them is a cycle.
    fn walk_dir(&self, real_dir: &Path, artifact_dir: &str, followed: &[PathBuf]) -> Result<Tree> {
        let mut children = Vec::new();
        for entry in crate::fs::read_dir(real_dir)? {
            let entry = entry?;
            let name = entry.file_name().into_string().map_err(|name| {
                Error::input(
                    real_dir.join(&name),
                    "file name is not valid UTF-8; Lambda zips need UTF-8 names",
                )
            })?;
            children.push((name, entry));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
        let mut tree = Tree::default();
        let marked = marked_names(
            real_dir,
            children.iter().any(|(name, _)| name == OUTPUT_MARKER),
        )?;
        if marked.iter().any(|name| name == "*") && real_dir != self.root {
            return Ok(tree);
        }
        children.retain(|(name, _)| {
            if name == OUTPUT_MARKER || marked.contains(name) {
                return false;
            }
            if name.starts_with(PROJECT_PREFIX) {
                return false;
            }
            if name.starts_with(OWN_PREFIX) {
                tree.warnings.push(format!(
                    "{}: a lamina temporary file (from an interrupted build?); left out",
                    real_dir.join(name).display()
                ));
                return false;
            }
            true
        });
        // Each child's metadata is read relative to the open folder (no path walk from the root
        // for each of thousands of files) and does not follow links. The entries, which hold
        // the folder open, are dropped before descending: one open folder per level at most.
        let children = children
            .into_par_iter()
            .map(|(name, entry)| {
                let meta = entry
                    .metadata()
                    .map_err(|error| Error::io(entry.path(), error))?;
                Ok((name, meta))
            })
            .collect::<Vec<Result<(String, std::fs::Metadata)>>>();
        let children = children.into_iter().collect::<Result<Vec<_>>>()?;
        let parts = children
            .into_par_iter()
            .map(|(name, meta)| {
                self.child(
                    real_dir.join(&name),
                    join(artifact_dir, &name),
                    &meta,
                    followed,
                )
            })
            .collect::<Vec<Result<Tree>>>();
        // Room for every part's entries at once: growing part by part copied a folder's
        // entries several times over (about 4 % of a small warm build's samples).
        tree.entries.reserve(
            parts
                .iter()
                .map(|part| part.as_ref().map_or(0, |part| part.entries.len()))
                .sum(),
        );
        // The first error in walk order, whichever thread met it first.
        for part in parts {
            tree.append(part?);
        }
        Ok(tree)
    }

    fn child(
        &self,
        real: PathBuf,
        artifact: String,
        meta: &std::fs::Metadata,
        followed: &[PathBuf],
    ) -> Result<Tree> {
        let mut tree = Tree::default();
        if meta.file_type().is_symlink() {
            return self.link(&real, artifact, followed);
        } else if meta.is_dir() {
            if self.bounds.skips(&real) {
                return Ok(tree);
            }
            return self.walk_dir(&real, &artifact, followed);
        } else if meta.is_file() {
            tree.entries.push(file(real, artifact, meta));
        } else {
            tree.warnings.push(format!(
                "{}: not a regular file, folder or link; left out",
                real.display()
            ));
        }
        Ok(tree)
    }

    fn link(&self, real: &Path, artifact: String, followed: &[PathBuf]) -> Result<Tree> {
        let mut tree = Tree::default();
        let Ok(target) = crate::fs::canonicalize(real) else {
            tree.warnings.push(format!(
                "{}: dangling link (its target does not exist); left out",
                real.display()
            ));
            return Ok(tree);
        };
        if self.bounds.skips(&target) {
            return Ok(tree);
        }
        // Only regular files and folders, wherever the link leads: a device or a FIFO would be
        // read without end or block the build.
        let meta = crate::fs::metadata(&target)?;
        if !meta.is_file() && !meta.is_dir() {
            tree.warnings.push(format!(
                "{}: a link to {}, which is not a regular file or folder (a device, FIFO or socket); left out",
                real.display(),
                target.display()
            ));
            return Ok(tree);
        }
        if let Ok(inside) = target.strip_prefix(self.root) {
            // Stays inside the artifact: keep it as a relative link.
            let target_artifact = to_artifact(inside).ok_or_else(|| {
                Error::input(
                    &target,
                    "file name is not valid UTF-8; Lambda zips need UTF-8 names",
                )
            })?;
            let relative = relative_link(&artifact, &target_artifact);
            tree.entries.push(FileEntry {
                bytes: relative.len() as u64,
                path: artifact.clone(),
                source: real.to_path_buf(),
                executable: false,
                link_target: Some(relative),
                owner: Owner::User,
                stamp: None,
            });
            tree.links.insert(artifact, target_artifact);
            return Ok(tree);
        }
        if !self.bounds.allows(&target) {
            tree.refused.push(Refused {
                path: artifact,
                link: real.to_path_buf(),
                target,
                boundary: self.bounds.boundary.clone(),
            });
            return Ok(tree);
        }
        // Leaves the function folder for a place inside the project (a workspace package): a
        // link there cannot work on Lambda, so copy what it points at.
        if meta.is_dir() {
            if followed.iter().any(|seen| target.starts_with(seen)) {
                tree.warnings.push(format!(
                    "{}: link cycle back to {}; not followed again",
                    real.display(),
                    target.display()
                ));
                return Ok(tree);
            }
            let mut inner = followed.to_vec();
            inner.push(target.clone());
            tree.materialized.push(artifact.clone());
            tree.append(self.walk_dir(&target, &artifact, &inner)?);
        } else {
            tree.entries.push(file(target, artifact, &meta));
        }
        Ok(tree)
    }
}

/// What the output marker in this folder names, if it has one.
fn marked_names(dir: &Path, has_marker: bool) -> Result<Vec<String>> {
    if !has_marker {
        return Ok(Vec::new());
    }
    let text = crate::input::read_small(&dir.join(OUTPUT_MARKER), 1 << 20)?;
    Ok(text.lines().map(str::to_string).collect())
}

fn file(source: PathBuf, path: String, meta: &std::fs::Metadata) -> FileEntry {
    FileEntry {
        path,
        source,
        bytes: meta.len(),
        executable: meta.permissions().mode() & 0o111 != 0,
        link_target: None,
        owner: Owner::User,
        stamp: Some(Stamp::of(meta)),
    }
}

/// `a/b` + `c` → `a/b/c`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The folder part of an artifact path (`""` at the root).
pub fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |slash| &path[..slash])
}

fn to_artifact(relative: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

/// The relative target that makes a link at `link` point at `target` (both artifact paths).
pub fn relative_link(link: &str, target: &str) -> String {
    let from: Vec<&str> = parent(link).split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_to_the_common_folder() {
        assert_eq!(
            relative_link(
                "node_modules/a",
                "node_modules/.pnpm/a@1.0.0/node_modules/a"
            ),
            ".pnpm/a@1.0.0/node_modules/a"
        );
        assert_eq!(
            relative_link(
                "node_modules/.pnpm/a@1.0.0/node_modules/b",
                "node_modules/.pnpm/b@2.0.0/node_modules/b"
            ),
            "../../b@2.0.0/node_modules/b"
        );
        assert_eq!(relative_link("x", "y/z"), "y/z");
    }

    #[test]
    fn join_and_parent_are_inverse() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a/b", "c"), "a/b/c");
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }
}
