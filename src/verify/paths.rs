//! Where a zip's entries land once extracted, from their names alone: the path an extractor
//! writes (the name cut at a NUL byte, `./`, empty and `..` components dropped, backslashes read
//! as separators), the entries that land on the same path or need a folder where another is a
//! file, and where each symbolic link leads, resolved through the archive's own links as Linux
//! resolves them. Time and memory are linear in the total length of the names and link
//! targets: no step joins, hashes or compares a whole path.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// The byte ranges of a name's components as extractors write them: up to the first NUL byte
/// (C-based extractors such as Info-ZIP's `unzip` end the name there), split at `/` and at `\`
/// (Windows, and Info-ZIP for zips made on Windows, read it as a separator), without empty,
/// `.` and `..` components (Info-ZIP, Python's `zipfile` and most others drop them).
#[derive(Debug, Clone)]
pub struct Components<'a> {
    name: &'a [u8],
    position: usize,
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while self.position < self.name.len() {
            let rest = &self.name[self.position..];
            let len = rest
                .iter()
                .position(|&byte| byte == b'/' || byte == b'\\')
                .unwrap_or(rest.len());
            self.position += len + 1;
            let part = &rest[..len];
            if !part.is_empty() && part != b"." && part != b".." {
                return Some(part);
            }
        }
        None
    }
}

/// The components of `name` as extracted (see `Components`).
pub fn components(name: &[u8]) -> Components<'_> {
    let end = name
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(name.len());
    Components {
        name: &name[..end],
        position: 0,
    }
}

/// The path `name` is extracted to, components joined with `/`: borrowed from `name` when
/// it already is one (`a/b`, `a/b/`, `./a/b`), as almost every name is.
pub fn extracted(name: &[u8]) -> Cow<'_, [u8]> {
    let mut parts = components(name);
    let Some(first) = parts.next() else {
        return Cow::Borrowed(&[]);
    };
    // Where each component starts in `name`: they are subslices of it.
    let offset = |part: &[u8]| part.as_ptr() as usize - name.as_ptr() as usize;
    let start = offset(first);
    let mut end = start + first.len();
    let mut contiguous = true;
    for part in parts.clone() {
        let at = offset(part);
        if at != end + 1 || name[end] != b'/' {
            contiguous = false;
            break;
        }
        end = at + part.len();
    }
    if contiguous {
        return Cow::Borrowed(&name[start..end]);
    }
    let mut path = Vec::with_capacity(name.len());
    path.extend_from_slice(first);
    for part in parts {
        path.push(b'/');
        path.extend_from_slice(part);
    }
    Cow::Owned(path)
}

/// Orders extracted paths component by component, so that everything under a folder `a`
/// (`a/b`, `a/b/c`) sorts right after `a` and before `a.js`.
fn compare_paths(a: &[u8], b: &[u8]) -> Ordering {
    let rank = |byte: u8| if byte == b'/' { 0 } else { u16::from(byte) + 1 };
    a.iter()
        .map(|&byte| rank(byte))
        .cmp(b.iter().map(|&byte| rank(byte)))
}

/// How two entries collide on extraction. `entry` is the later of the two in the central
/// directory, `other` the earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clash {
    /// The same name twice.
    Repeated { entry: usize, other: usize },
    /// Different names extracted to the same path.
    SamePath { entry: usize, other: usize },
    /// A folder and a file (or link) at the same path.
    FolderAndFile { entry: usize, other: usize },
    /// One entry lies under the path of the other, which is a file or link: `file` says which
    /// of the two that is.
    UnderFile {
        entry: usize,
        other: usize,
        file: usize,
    },
}

/// One entry's name and whether it is a folder.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub name: &'a [u8],
    pub folder: bool,
}

/// Every collision between entries on extraction, each reported once, on the later entry.
/// Entries extracted to the archive's root itself (`./`) collide with nothing; two folders
/// with different names at the same path merge harmlessly.
pub fn clashes(entries: &[Named<'_>]) -> Vec<Clash> {
    let paths: Vec<Cow<'_, [u8]>> = entries.iter().map(|entry| extracted(entry.name)).collect();
    let mut order: Vec<usize> = (0..entries.len())
        .filter(|&index| !paths[index].is_empty())
        .collect();
    order.sort_by(|&a, &b| compare_paths(&paths[a], &paths[b]).then(a.cmp(&b)));
    let mut found = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let path = &paths[order[start]];
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&index| paths[index] == *path)
                .count();
        let run = &order[start..end];
        let first = run[0];
        for &entry in &run[1..] {
            let (a, b) = (&entries[first], &entries[entry]);
            if a.name == b.name {
                found.push(Clash::Repeated {
                    entry,
                    other: first,
                });
            } else if a.folder != b.folder {
                found.push(Clash::FolderAndFile {
                    entry,
                    other: first,
                });
            } else if !a.folder {
                found.push(Clash::SamePath {
                    entry,
                    other: first,
                });
            }
        }
        // The paths under this one sort right after it: a file here leaves no room for them.
        if let Some(&file) = run.iter().find(|&&index| !entries[index].folder)
            && let Some(&below) = order.get(end)
            && paths[below].len() > path.len()
            && paths[below].starts_with(path)
            && paths[below][path.len()] == b'/'
        {
            let (entry, other) = if file > below {
                (file, below)
            } else {
                (below, file)
            };
            found.push(Clash::UnderFile { entry, other, file });
        }
        start = end;
    }
    found
}

/// A node's `link` when it is no link.
const NO_LINK: u32 = u32::MAX;
/// A node's `link` when it is a link that cannot exist once extracted (its target is too long
/// or was not read): resolving through it finds nothing.
const BROKEN: u32 = u32::MAX - 1;
/// The archive's root.
const ROOT: u32 = 0;
/// Links Linux follows in one lookup before it fails with ELOOP (`MAXSYMLINKS`).
pub const MAX_HOPS: u32 = 40;

/// Every path the archive's entries create (files, links, explicit folders and the folders
/// their names imply), one node per distinct path, linked to its parent.
#[derive(Debug)]
pub struct Tree<'a> {
    parent: Vec<u32>,
    /// `NO_LINK`, `BROKEN`, or the index of the link's target.
    link: Vec<u32>,
    children: HashMap<(u32, &'a [u8]), u32>,
}

impl<'a> Tree<'a> {
    /// The tree of `names`, with each name's node in order; `None` when the names create more
    /// than `max_nodes` paths.
    pub fn build(
        names: impl IntoIterator<Item = &'a [u8]>,
        max_nodes: usize,
    ) -> Option<(Tree<'a>, Vec<u32>)> {
        let mut tree = Tree {
            parent: vec![ROOT],
            link: vec![NO_LINK],
            children: HashMap::new(),
        };
        let mut nodes = Vec::new();
        for name in names {
            let mut node = ROOT;
            for part in components(name) {
                node = match tree.children.entry((node, part)) {
                    Entry::Occupied(slot) => *slot.get(),
                    Entry::Vacant(slot) => {
                        if tree.parent.len() >= max_nodes {
                            return None;
                        }
                        let id = tree.parent.len() as u32;
                        tree.parent.push(node);
                        tree.link.push(NO_LINK);
                        slot.insert(id);
                        id
                    }
                };
            }
            nodes.push(node);
        }
        Some((tree, nodes))
    }

    /// Marks `node` as a link to target number `target` (the first mark on a node wins, as the
    /// first link entry of a path does). The root cannot be a link.
    pub fn mark_link(&mut self, node: u32, target: u32) {
        if node != ROOT && self.link[node as usize] == NO_LINK {
            self.link[node as usize] = target;
        }
    }

    /// Marks `node` as a link that will not exist once extracted.
    pub fn mark_broken(&mut self, node: u32) {
        self.mark_link(node, BROKEN);
    }
}

/// Where a link leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// To a path some entry creates (or the root).
    Exists,
    /// To a path no entry creates.
    Missing,
    /// Out of the archive: an absolute target, or `..` above the root.
    Escapes,
    /// Through more than `MAX_HOPS` links, or a loop of links (ELOOP).
    Loop,
}

/// Where following a link ends: a node, with `missing` components that no entry creates below
/// it (which `..` can climb back out of), and the links followed to get there.
#[derive(Debug, Clone, Copy)]
enum Place {
    At { node: u32, missing: u32, hops: u32 },
    Escapes,
    Loop,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Unvisited,
    Active,
    Done(Place),
}

/// A link target being walked.
struct Frame<'t> {
    /// The target's index when it is the target of a marked node (its result is remembered).
    link: Option<u32>,
    target: &'t [u8],
    position: usize,
    node: u32,
    missing: u32,
    hops: u32,
    /// The link whose resolution this frame waits for.
    waiting: Option<u32>,
}

impl<'t> Frame<'t> {
    fn next_part(&mut self) -> Option<&'t [u8]> {
        if self.position > self.target.len() {
            return None;
        }
        let rest = &self.target[self.position..];
        let len = rest
            .iter()
            .position(|&byte| byte == b'/')
            .unwrap_or(rest.len());
        self.position += len + 1;
        Some(&rest[..len])
    }
}

enum Step {
    Needs(u32),
    Finished(Place),
}

/// Resolves links through a `Tree`. Each marked link's target is walked at most once, its
/// result remembered, so resolving every link of an archive takes time linear in the total
/// length of the targets, however they chain; the frames of links being resolved are kept on a
/// heap stack, not the call stack.
pub struct Resolver<'t, 'a> {
    tree: &'t Tree<'a>,
    targets: &'t [&'t [u8]],
    /// By target index: the node of the link it belongs to.
    owners: Vec<u32>,
    states: Vec<State>,
    /// Components walked so far, over every call: a measure of the work done.
    pub steps: u64,
}

impl<'t, 'a> Resolver<'t, 'a> {
    /// `targets[i]` is the target of the link at `owners[i]`; marked links point into it.
    pub fn new(tree: &'t Tree<'a>, targets: &'t [&'t [u8]], owners: &[u32]) -> Self {
        Resolver {
            tree,
            targets,
            owners: owners.to_vec(),
            states: vec![State::Unvisited; targets.len()],
            steps: 0,
        }
    }

    /// Where the link at `node` whose target is `target` leads, following the archive's links
    /// on the way (the last component included, as `stat` does).
    pub fn resolve(&mut self, node: u32, target: &'t [u8]) -> Outcome {
        let first = match self.frame(None, node, target) {
            Ok(frame) => frame,
            Err(place) => return outcome(place),
        };
        let mut stack = vec![first];
        loop {
            let top = stack.last_mut().expect("a frame is being walked");
            match self.advance(top) {
                Step::Needs(link) => {
                    self.states[link as usize] = State::Active;
                    let owner = self.owners[link as usize];
                    match self.frame(Some(link), owner, self.targets[link as usize]) {
                        Ok(frame) => stack.push(frame),
                        // The waiting frame reads the result when it resumes.
                        Err(place) => self.states[link as usize] = State::Done(place),
                    }
                }
                Step::Finished(place) => {
                    let frame = stack.pop().expect("the finished frame");
                    if let Some(link) = frame.link {
                        self.states[link as usize] = State::Done(place);
                    }
                    if stack.is_empty() {
                        return outcome(place);
                    }
                }
            }
        }
    }

    /// The frame that walks `target` from the folder of the link at `node`, or where it ends
    /// at once.
    fn frame(&self, link: Option<u32>, node: u32, target: &'t [u8]) -> Result<Frame<'t>, Place> {
        // Linux reads a link target as a C string, and cannot create a link to "".
        let end = target
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(target.len());
        let target = &target[..end];
        let folder = self.tree.parent[node as usize];
        if target.first() == Some(&b'/') {
            return Err(Place::Escapes);
        }
        if target.is_empty() {
            return Err(Place::At {
                node: folder,
                missing: 1,
                hops: 1,
            });
        }
        Ok(Frame {
            link,
            target,
            position: 0,
            node: folder,
            missing: 0,
            hops: 1,
            waiting: None,
        })
    }

    /// Walks `frame` until it ends or meets a link not yet resolved.
    fn advance(&mut self, frame: &mut Frame<'t>) -> Step {
        if let Some(link) = frame.waiting.take()
            && let Some(place) = self.apply(frame, link)
        {
            return Step::Finished(place);
        }
        while let Some(part) = frame.next_part() {
            self.steps += 1;
            match part {
                b"" | b"." => {}
                b".." => {
                    if frame.missing > 0 {
                        frame.missing -= 1;
                    } else if frame.node == ROOT {
                        return Step::Finished(Place::Escapes);
                    } else {
                        frame.node = self.tree.parent[frame.node as usize];
                    }
                }
                name => {
                    if frame.missing > 0 {
                        frame.missing = frame.missing.saturating_add(1);
                        continue;
                    }
                    let Some(&child) = self.tree.children.get(&(frame.node, name)) else {
                        frame.missing = 1;
                        continue;
                    };
                    match self.tree.link[child as usize] {
                        NO_LINK => frame.node = child,
                        BROKEN => frame.missing = 1,
                        link => match self.states[link as usize] {
                            State::Unvisited => {
                                frame.waiting = Some(link);
                                return Step::Needs(link);
                            }
                            State::Active => return Step::Finished(Place::Loop),
                            State::Done(_) => {
                                if let Some(place) = self.apply(frame, link) {
                                    return Step::Finished(place);
                                }
                            }
                        },
                    }
                }
            }
        }
        Step::Finished(Place::At {
            node: frame.node,
            missing: frame.missing,
            hops: frame.hops,
        })
    }

    /// Continues `frame` where the resolved link `link` leads; the frame's end when that ends
    /// it (out of the archive, or too many links).
    fn apply(&self, frame: &mut Frame<'t>, link: u32) -> Option<Place> {
        match self.states[link as usize] {
            State::Done(Place::At {
                node,
                missing,
                hops,
            }) => {
                frame.node = node;
                frame.missing = missing;
                frame.hops = frame.hops.saturating_add(hops);
                (frame.hops > MAX_HOPS).then_some(Place::Loop)
            }
            State::Done(place) => Some(place),
            // Only a resolved link is applied; anything else would be a loop.
            State::Unvisited | State::Active => Some(Place::Loop),
        }
    }
}

fn outcome(place: Place) -> Outcome {
    match place {
        Place::At { missing: 0, .. } => Outcome::Exists,
        Place::At { .. } => Outcome::Missing,
        Place::Escapes => Outcome::Escapes,
        Place::Loop => Outcome::Loop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(name: &str) -> String {
        String::from_utf8(extracted(name.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn names_are_extracted_as_extractors_write_them() {
        assert_eq!(joined("index.js\0evil"), "index.js");
        assert_eq!(joined("./a//b/./c"), "a/b/c");
        assert_eq!(joined("/etc/../passwd"), "etc/passwd");
        assert_eq!(joined("lib\\util.js"), "lib/util.js");
        assert_eq!(joined("dir/"), "dir");
        assert_eq!(joined("./"), "");
        assert!(matches!(extracted(b"./a/b/"), Cow::Borrowed(b"a/b")));
        assert!(matches!(extracted(b"a//b"), Cow::Owned(_)));
    }

    fn clashes_of(entries: &[(&str, bool)]) -> Vec<Clash> {
        let named: Vec<Named<'_>> = entries
            .iter()
            .map(|(name, folder)| Named {
                name: name.as_bytes(),
                folder: *folder,
            })
            .collect();
        clashes(&named)
    }

    #[test]
    fn collisions_after_normalisation_are_found_once_on_the_later_entry() {
        assert_eq!(
            clashes_of(&[("index.js", false), ("index.js\0evil", false)]),
            [Clash::SamePath { entry: 1, other: 0 }]
        );
        assert_eq!(
            clashes_of(&[("a.js", false), ("b.js", false), ("a.js", false)]),
            [Clash::Repeated { entry: 2, other: 0 }]
        );
        assert_eq!(
            clashes_of(&[("lib", false), ("lib/", true)]),
            [Clash::FolderAndFile { entry: 1, other: 0 }]
        );
        assert_eq!(
            clashes_of(&[("lib/x/y.js", false), ("a.js", false), ("lib", false)]),
            [Clash::UnderFile {
                entry: 2,
                other: 0,
                file: 2
            }]
        );
        // Folders merge; `a.js` and `a/` are different paths; the root is nobody's.
        assert_eq!(
            clashes_of(&[
                ("a/", true),
                ("./a/", true),
                ("a/b", false),
                ("a.js", false),
                ("./", true),
                ("/", true),
            ]),
            []
        );
    }

    /// A tree of `files` and `links`, and every link's outcome in order.
    fn outcomes(links: &[(&str, &str)], files: &[&str]) -> (Vec<Outcome>, u64) {
        let names: Vec<&[u8]> = links
            .iter()
            .map(|(link, _)| link.as_bytes())
            .chain(files.iter().map(|file| file.as_bytes()))
            .collect();
        let (mut tree, nodes) = Tree::build(names, usize::MAX).unwrap();
        let targets: Vec<&[u8]> = links.iter().map(|(_, target)| target.as_bytes()).collect();
        let owners = &nodes[..links.len()];
        for (index, &node) in owners.iter().enumerate() {
            tree.mark_link(node, index as u32);
        }
        let mut resolver = Resolver::new(&tree, &targets, owners);
        let found = owners
            .iter()
            .zip(&targets)
            .map(|(&node, target)| resolver.resolve(node, target))
            .collect();
        (found, resolver.steps)
    }

    #[test]
    fn links_resolve_through_other_links_and_implied_folders() {
        let pnpm = [
            ("node_modules/a", ".pnpm/a@1/node_modules/a"),
            (
                "node_modules/.pnpm/a@1/node_modules/b",
                "../../b@1/node_modules/b",
            ),
            ("node_modules/.bin/b", "../a/../b/cli.js"),
        ];
        let files = [
            "node_modules/.pnpm/a@1/node_modules/a/index.js",
            "node_modules/.pnpm/b@1/node_modules/b/cli.js",
        ];
        // `.bin/b` goes through the link `a`, whose `..` is the folder `a` really is in (not
        // `node_modules/`, where there is no `b`), and then through the link `b` there.
        assert_eq!(outcomes(&pnpm, &files).0, [Outcome::Exists; 3]);
        // Where `a` is a real folder, `a/..` is `node_modules/`, which holds no `b`.
        let lexical = [("node_modules/.bin/b", "../a/../b/cli.js")];
        let folders = ["node_modules/a/index.js"];
        assert_eq!(outcomes(&lexical, &folders).0, [Outcome::Missing]);
    }

    #[test]
    fn links_out_of_the_root_escape_and_missing_targets_dangle() {
        for (links, expected) in [
            (&[("a", "/etc/passwd")][..], Outcome::Escapes),
            (&[("x/a", "../../b")][..], Outcome::Escapes),
            (&[("x", "up/etc"), ("up", "..")][..], Outcome::Escapes),
            (&[("a", "missing.js")][..], Outcome::Missing),
            (&[("a", "missing/../../x")][..], Outcome::Escapes),
            (&[("a", "")][..], Outcome::Missing),
            (&[("a", "b"), ("b", "a")][..], Outcome::Loop),
            (&[("a", "a")][..], Outcome::Loop),
        ] {
            assert_eq!(outcomes(links, &[]).0[0], expected, "{links:?}");
        }
    }

    #[test]
    fn a_chain_of_forty_links_resolves_and_forty_one_is_a_loop() {
        let chain = |length: usize| {
            let names: Vec<String> = (0..length).map(|index| format!("l{index}")).collect();
            let links: Vec<(String, String)> = (0..length)
                .map(|index| {
                    let next = if index + 1 == length {
                        "file".to_string()
                    } else {
                        names[index + 1].clone()
                    };
                    (names[index].clone(), next)
                })
                .collect();
            let links: Vec<(&str, &str)> = links
                .iter()
                .map(|(link, target)| (link.as_str(), target.as_str()))
                .collect();
            outcomes(&links, &["file"]).0[0]
        };
        assert_eq!(chain(40), Outcome::Exists);
        assert_eq!(chain(41), Outcome::Loop);
    }

    #[test]
    fn a_target_of_100000_components_resolves_in_linear_steps() {
        // `a/a/.../a/file` where every `a` is a folder: 100,000 components walked once.
        let deep = "a/".repeat(100_000) + "file";
        let (found, steps) = outcomes(&[("link", &deep)], &[&deep]);
        assert_eq!(found, [Outcome::Exists]);
        assert_eq!(steps, 100_001);

        // Where `a` is a link to `.`: every component follows it, so Linux fails after 40.
        let through = "a/".repeat(100_000) + "file";
        let (found, steps) = outcomes(&[("link", &through), ("a", ".")], &["file"]);
        assert_eq!(found[0], Outcome::Loop);
        assert_eq!(found[1], Outcome::Exists);
        assert!(
            steps <= 100,
            "{steps} steps: the walk stops at the 41st link"
        );

        // Climbing back out of 100,000 missing folders, and out of the root.
        let up = "m/".repeat(100_000) + &"../".repeat(100_000) + "file";
        let (found, steps) = outcomes(&[("link", &up)], &["file"]);
        assert_eq!(found, [Outcome::Exists]);
        assert_eq!(steps, 200_001);
        let (found, _) = outcomes(&[("link", &(up + "/../..")), ("x", "file")], &["file"]);
        assert_eq!(found[0], Outcome::Escapes);
    }

    #[test]
    fn many_links_through_one_deep_link_walk_its_target_once() {
        // 1,000 links each through `deep`, whose target has 10,000 components: the deep
        // target is walked once for all of them (plus once for itself).
        let deep_target = "d/".repeat(10_000) + "file";
        let mut links = vec![("deep".to_string(), deep_target.clone())];
        for index in 0..1_000 {
            links.push((format!("l{index}"), "deep".to_string()));
        }
        let links: Vec<(&str, &str)> = links
            .iter()
            .map(|(link, target)| (link.as_str(), target.as_str()))
            .collect();
        let (found, steps) = outcomes(&links, &[&deep_target]);
        assert!(found.iter().all(|outcome| *outcome == Outcome::Exists));
        assert!(steps <= 2 * 10_001 + 1_000, "{steps}");
    }
}
