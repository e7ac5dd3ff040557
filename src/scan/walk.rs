//! A sorted walk of a function folder, in artifact paths: links that stay inside the folder are
//! kept as links, links that leave it (workspace packages) are followed and copied as real files.

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
    pub warnings: Vec<String>,
}

/// Walks `root` (already canonical), leaving out `skip` (canonical), such as the output folder.
pub fn walk(root: &Path, skip: Option<&Path>) -> Result<Tree> {
    Walker { root, skip }.walk_dir(root, "", &[])
}

impl Tree {
    /// Appends what a later part of the walk found, keeping walk order.
    fn append(&mut self, mut other: Tree) {
        self.entries.append(&mut other.entries);
        self.links.append(&mut other.links);
        self.materialized.append(&mut other.materialized);
        self.warnings.append(&mut other.warnings);
    }
}

/// The walk is syscall-bound (a `getdents` per folder, a `stat` per file), so a folder's
/// children are walked in parallel and their findings joined in sorted order: the result is
/// the same as a sequential walk's.
struct Walker<'a> {
    root: &'a Path,
    skip: Option<&'a Path>,
}

impl Walker<'_> {
    /// `followed`: real folders entered through links that leave the root, innermost last; a
    /// link back to one of them is a cycle.
    fn walk_dir(&self, real_dir: &Path, artifact_dir: &str, followed: &[PathBuf]) -> Result<Tree> {
        let mut children = Vec::new();
        for entry in fs_err::read_dir(real_dir)? {
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
        // Each child's metadata is read relative to the open folder (no path walk from the root
        // for each of thousands of files) and does not follow links. The entries, which hold
        // the folder open, are dropped before descending: one open folder per level at most.
        let children = children
            .into_par_iter()
            .map(|(name, entry)| Ok((name, entry.metadata()?)))
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
        let mut tree = Tree::default();
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
            if Some(real.as_path()) == self.skip {
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
        let Ok(target) = fs_err::canonicalize(real) else {
            tree.warnings.push(format!(
                "{}: dangling link (its target does not exist); left out",
                real.display()
            ));
            return Ok(tree);
        };
        if let Some(skip) = self.skip
            && target.starts_with(skip)
        {
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
        // Leaves the function folder: a link there cannot work on Lambda, so copy what it
        // points at.
        let meta = fs_err::metadata(&target)?;
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
