//! Dedupe: plans shared Lambda layers over the shaken functions of one build. A pure function
//! over model types: it reads no file (the content digests come in with the input) and writes
//! none; `package` zips the layers it plans. The algorithm is described in ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::model::{Arch, Inventory, Plan, Reason, Runtime};

/// One shaken function, with the SHA-256 of each kept file's shipped bytes (parallel to
/// `Inventory::files`; a pyc the package stage rewrites is hashed as rewritten).
pub struct Input<'a> {
    pub inventory: &'a Inventory,
    pub plan: &'a Plan,
    pub digests: &'a [Option<[u8; 32]>],
}

impl Input<'_> {
    /// `<runtime>-<arch>`: only functions of one group share a layer.
    pub fn group(&self) -> String {
        let function = &self.inventory.function;
        format!("{}-{}", function.runtime.id(), function.arch.id())
    }
}

/// What layers may be.
#[derive(Debug, Clone)]
pub struct Options {
    /// A package is shared only when at least this many functions keep it, byte for byte.
    pub min_functions: usize,
    pub max_layers: usize,
    /// A function and all its layers, unzipped.
    pub unzipped_limit: u64,
    /// Each zip, estimated before it is written (verify measures the real one).
    pub zipped_limit: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_functions: 2,
            max_layers: crate::lambda::limits::LAYERS as usize,
            unzipped_limit: crate::lambda::limits::UNZIPPED,
            zipped_limit: crate::lambda::limits::ZIPPED,
        }
    }
}

/// A file of a layer: where it goes in the layer, and which function's file it is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    pub path: String,
    pub function: usize,
    /// Index into that function's `Inventory::files`.
    pub file: usize,
}

/// One planned layer.
#[derive(Debug, Clone)]
pub struct PlannedLayer {
    /// `<runtime>-<arch>-<first 12 hex of the SHA-256 of its sorted paths and contents>`.
    pub name: String,
    pub runtime: Runtime,
    pub arch: Arch,
    /// Sorted by path.
    pub files: Vec<LayerFile>,
    /// `name@version`, sorted.
    pub packages: Vec<String>,
    /// Indices of the functions that attach it, sorted.
    pub functions: Vec<usize>,
    pub unzipped_bytes: u64,
    /// Unzipped bytes the functions no longer ship, less the layer's own.
    pub saved_bytes: u64,
}

/// The plan: the layers, each function's plan without what moved, and the attach order.
#[derive(Debug, Clone)]
pub struct LayerPlan {
    pub layers: Vec<PlannedLayer>,
    /// Parallel to the input: the files and packages that moved are marked `Reason::Layer`.
    pub plans: Vec<Plan>,
    /// Parallel to the input: indices into `layers`, in attach order.
    pub attached: Vec<Vec<usize>>,
    /// Parallel to the input: why a package of the function that could be shared was not
    /// (a link, a shared namespace, the layer count), sorted.
    pub notes: Vec<Vec<String>>,
}

/// A unit of one function that could move to a layer (a Node.js package folder with its
/// closure, a Python distribution), as its ecosystem finds it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub label: String,
    /// Files of this function and their layer paths.
    pub files: Vec<(usize, String)>,
    pub bytes: u64,
    pub estimated_zipped: u64,
    /// Keys of the candidates it needs in the same function (Node closure).
    pub needs: BTreeSet<[u8; 32]>,
}

/// A shareable unit across functions.
#[derive(Debug, Clone)]
struct Atom {
    label: String,
    group: (Runtime, Arch),
    bytes: u64,
    estimated_zipped: u64,
    functions: BTreeSet<usize>,
    /// Per function: the file indices and layer paths.
    files: BTreeMap<usize, Vec<(usize, String)>>,
    needs: BTreeSet<[u8; 32]>,
    digests: Vec<(String, [u8; 32], bool)>,
}

/// SHA-256 over length-prefixed parts: the identity of a candidate or a layer.
pub(crate) fn hash_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The candidates of one function, keyed by identity: its ecosystem decides what can move.
fn candidates(input: &Input<'_>, notes: &mut Vec<String>) -> BTreeMap<[u8; 32], Candidate> {
    crate::ecosystem::of(input.inventory).layer_candidates(input, notes)
}

/// Runtime, architecture and the exact functions that keep an atom.
type Signature = ((Runtime, String), Vec<usize>);

/// Every atom of the build, by key.
type Atoms = BTreeMap<[u8; 32], Atom>;

/// A layer being planned: atoms (by key) and the functions that attach it.
#[derive(Debug, Clone)]
struct Draft {
    atoms: BTreeSet<[u8; 32]>,
    functions: BTreeSet<usize>,
}

impl Draft {
    /// Unzipped bytes of the layer this draft would be.
    fn bytes(&self, atoms: &Atoms) -> u64 {
        self.atoms.iter().map(|key| atoms[key].bytes).sum()
    }
}

/// Plans layers, in the steps ARCHITECTURE.md gives (`src/dedupe/`): the candidates as atoms,
/// the atoms enough functions share, drafts, at most `max_layers` per function, names; then
/// each function's plan without what moved.
pub fn plan_layers(inputs: &[Input<'_>], options: &Options) -> LayerPlan {
    let mut notes = vec![Vec::new(); inputs.len()];
    let atoms = atoms(inputs, &mut notes);
    let mut active = shared(&atoms, options);
    let mut drafts = drafts(&atoms, &active, options);
    let sizes = Sizes {
        atoms: &atoms,
        own_bytes: inputs
            .iter()
            .map(|input| input.plan.kept_bytes(input.inventory))
            .collect(),
    };
    fit_layer_count(&sizes, &mut active, &mut drafts, options, &mut notes);
    let (layers, drafts) = name_layers(&atoms, &drafts);
    let (plans, attached) = move_to_layers(inputs, &atoms, &layers, &drafts);
    for notes in &mut notes {
        notes.sort();
        notes.dedup();
    }
    LayerPlan {
        layers,
        plans,
        attached,
        notes,
    }
}

/// Step 1, gathered for step 2: each function's candidates as atoms, one per identity across
/// functions, with the functions that keep it and, per function, its files and layer paths.
fn atoms(inputs: &[Input<'_>], notes: &mut [Vec<String>]) -> Atoms {
    let mut atoms: Atoms = BTreeMap::new();
    for (index, input) in inputs.iter().enumerate() {
        let function = &input.inventory.function;
        for (key, candidate) in candidates(input, &mut notes[index]) {
            let atom = atoms.entry(key).or_insert_with(|| Atom {
                label: candidate.label.clone(),
                group: (function.runtime, function.arch),
                bytes: candidate.bytes,
                estimated_zipped: candidate.estimated_zipped,
                functions: BTreeSet::new(),
                files: BTreeMap::new(),
                needs: candidate.needs.clone(),
                digests: candidate
                    .files
                    .iter()
                    .map(|(i, path)| {
                        (
                            path.clone(),
                            input.digests[*i].expect("candidates have digests"),
                            input.inventory.files[*i].executable,
                        )
                    })
                    .collect(),
            });
            atom.functions.insert(index);
            atom.files.insert(index, candidate.files);
        }
    }
    atoms
}

/// Step 2: the atoms that may move. Packages too few functions keep stay where they are, and
/// so does all that needs them.
fn shared(atoms: &Atoms, options: &Options) -> BTreeSet<[u8; 32]> {
    let mut active: BTreeSet<[u8; 32]> = atoms
        .iter()
        .filter(|(_, atom)| atom.functions.len() >= options.min_functions.max(2))
        .map(|(key, _)| *key)
        .collect();
    settle(atoms, &mut active);
    active
}

/// Step 3: one draft per (group, exact set of functions), so attaching it costs no function
/// anything it does not already ship; a draft whose zip would pass the zipped limit is split,
/// biggest atoms first.
fn drafts(atoms: &Atoms, active: &BTreeSet<[u8; 32]>, options: &Options) -> Vec<Draft> {
    let mut by_signature: BTreeMap<Signature, BTreeSet<[u8; 32]>> = BTreeMap::new();
    for key in active {
        let atom = &atoms[key];
        by_signature
            .entry((
                (atom.group.0, atom.group.1.id().to_string()),
                atom.functions.iter().copied().collect(),
            ))
            .or_default()
            .insert(*key);
    }
    let mut drafts: Vec<Draft> = Vec::new();
    for ((_, functions), keys) in by_signature {
        let mut sorted: Vec<[u8; 32]> = keys.into_iter().collect();
        sorted.sort_by(|a, b| {
            atoms[b]
                .estimated_zipped
                .cmp(&atoms[a].estimated_zipped)
                .then(a.cmp(b))
        });
        let mut bins: Vec<(u64, BTreeSet<[u8; 32]>)> = Vec::new();
        for key in sorted {
            let size = atoms[&key].estimated_zipped;
            match bins
                .iter_mut()
                .find(|(used, _)| used + size <= options.zipped_limit)
            {
                Some((used, bin)) => {
                    *used += size;
                    bin.insert(key);
                }
                None => bins.push((size, BTreeSet::from([key]))),
            }
        }
        for (_, atoms) in bins {
            drafts.push(Draft {
                atoms,
                functions: functions.iter().copied().collect(),
            });
        }
    }
    drafts
}

/// What the layer-count step weighs: the atoms and what each function keeps before any layer.
struct Sizes<'a> {
    atoms: &'a Atoms,
    /// Unzipped bytes each function keeps, parallel to the input.
    own_bytes: Vec<u64>,
}

impl Sizes<'_> {
    /// Unzipped total of a function with these drafts: what it keeps, less what moved, plus
    /// every attached layer whole.
    fn total(&self, function: usize, drafts: &[Draft]) -> u64 {
        let atoms = self.atoms;
        let moved: u64 = drafts
            .iter()
            .flat_map(|draft| &draft.atoms)
            .filter(|key| atoms[*key].functions.contains(&function))
            .map(|key| atoms[key].bytes)
            .sum();
        let attached: u64 = drafts
            .iter()
            .filter(|draft| draft.functions.contains(&function))
            .map(|draft| draft.bytes(atoms))
            .sum();
        self.own_bytes[function] - moved + attached
    }

    /// Whether no path is in two of the layers a function attaches.
    fn paths_disjoint(&self, function: usize, drafts: &[Draft]) -> bool {
        let mut seen = BTreeSet::new();
        drafts
            .iter()
            .filter(|draft| draft.functions.contains(&function))
            .flat_map(|draft| &draft.atoms)
            .flat_map(|key| &self.atoms[key].digests)
            .all(|(path, _, _)| seen.insert(path.clone()))
    }
}

/// Step 4: at most `max_layers` per function. While a function has more, merge the two of its
/// drafts whose union costs the other functions the fewest unzipped bytes and breaks no limit;
/// when no merge fits, give up the draft that saves the least, with everything that needed it.
fn fit_layer_count(
    sizes: &Sizes<'_>,
    active: &mut BTreeSet<[u8; 32]>,
    drafts: &mut Vec<Draft>,
    options: &Options,
    notes: &mut [Vec<String>],
) {
    let atoms = sizes.atoms;
    loop {
        let over = (0..sizes.own_bytes.len()).find(|&function| {
            drafts
                .iter()
                .filter(|draft| draft.functions.contains(&function))
                .count()
                > options.max_layers
        });
        let Some(function) = over else { break };
        let mine: Vec<usize> = (0..drafts.len())
            .filter(|&d| drafts[d].functions.contains(&function))
            .collect();
        if let Some((a, b)) = cheapest_merge(sizes, drafts, &mine, options) {
            let (first, second) = (a.min(b), a.max(b));
            let removed = drafts.remove(second);
            drafts[first].atoms.extend(removed.atoms);
            drafts[first].functions.extend(removed.functions);
            continue;
        }
        let saving = |draft: &Draft| (draft.functions.len() as u64 - 1) * draft.bytes(atoms);
        let weakest = *mine
            .iter()
            .min_by_key(|&&d| (saving(&drafts[d]), d))
            .expect("an over-full function has layers");
        let dropped = drafts.remove(weakest);
        for key in &dropped.atoms {
            active.remove(key);
            for &function in &atoms[key].functions {
                notes[function].push(format!(
                    "{} stays in its functions: a layer for it would pass Lambda's {} layers per function",
                    atoms[key].label, options.max_layers
                ));
            }
        }
        // What needed a dropped package goes back too.
        settle(atoms, active);
        for draft in drafts.iter_mut() {
            draft.atoms.retain(|key| active.contains(key));
        }
        drafts.retain(|draft| !draft.atoms.is_empty());
    }
}

/// The two of `mine` (indices into `drafts`) whose union fits the zipped limit, keeps every
/// function of it within the unzipped limit (or what it already ships) with paths disjoint, and
/// adds the fewest unzipped bytes to those functions; the first such pair on a tie.
fn cheapest_merge(
    sizes: &Sizes<'_>,
    drafts: &[Draft],
    mine: &[usize],
    options: &Options,
) -> Option<(usize, usize)> {
    let mut best: Option<(u64, usize, usize)> = None;
    for (position, &a) in mine.iter().enumerate() {
        for &b in &mine[position + 1..] {
            let merged = Draft {
                atoms: drafts[a].atoms.union(&drafts[b].atoms).copied().collect(),
                functions: drafts[a]
                    .functions
                    .union(&drafts[b].functions)
                    .copied()
                    .collect(),
            };
            let zipped: u64 = merged
                .atoms
                .iter()
                .map(|key| sizes.atoms[key].estimated_zipped)
                .sum();
            let mut trial: Vec<Draft> = drafts
                .iter()
                .enumerate()
                .filter(|(d, _)| *d != a && *d != b)
                .map(|(_, draft)| draft.clone())
                .collect();
            trial.push(merged.clone());
            let fits = zipped <= options.zipped_limit
                && merged.functions.iter().all(|&f| {
                    sizes.total(f, &trial) <= options.unzipped_limit.max(sizes.own_bytes[f])
                        && sizes.paths_disjoint(f, &trial)
                });
            if !fits {
                continue;
            }
            let cost: u64 = merged
                .functions
                .iter()
                .map(|&f| {
                    sizes
                        .total(f, &trial)
                        .saturating_sub(sizes.total(f, drafts))
                })
                .sum();
            if best.is_none_or(|(best_cost, ..)| cost < best_cost) {
                best = Some((cost, a, b));
            }
        }
    }
    best.map(|(_, a, b)| (a, b))
}

/// Step 5: the layers, named by content, in name order, each with its draft.
fn name_layers(atoms: &Atoms, drafts: &[Draft]) -> (Vec<PlannedLayer>, Vec<Draft>) {
    let layers: Vec<PlannedLayer> = drafts.iter().map(|draft| layer(atoms, draft)).collect();
    let mut order: Vec<usize> = (0..layers.len()).collect();
    order.sort_by(|&a, &b| layers[a].name.cmp(&layers[b].name));
    let sorted_drafts: Vec<Draft> = order.iter().map(|&i| drafts[i].clone()).collect();
    let layers = order.iter().map(|&i| layers[i].clone()).collect();
    (layers, sorted_drafts)
}

/// One draft as a layer: `<runtime>-<arch>-<12 hex>` of the SHA-256 of its sorted paths,
/// contents and modes; its files (read from the first function that keeps each atom), packages,
/// functions and sizes.
fn layer(atoms: &Atoms, draft: &Draft) -> PlannedLayer {
    let mut digests: Vec<&(String, [u8; 32], bool)> = draft
        .atoms
        .iter()
        .flat_map(|key| &atoms[key].digests)
        .collect();
    digests.sort();
    let (runtime, arch) = atoms[draft.atoms.first().expect("drafts are not empty")].group;
    let parts: Vec<Vec<u8>> = digests
        .iter()
        .flat_map(|(path, digest, executable)| {
            [
                path.as_bytes().to_vec(),
                digest.to_vec(),
                vec![u8::from(*executable)],
            ]
        })
        .collect();
    let hash = hex::encode(hash_parts(parts.iter().map(Vec::as_slice)));
    let mut files: Vec<LayerFile> = draft
        .atoms
        .iter()
        .flat_map(|key| {
            let atom = &atoms[key];
            let (&function, files) = atom.files.iter().next().expect("an atom has a function");
            files.iter().map(move |(file, path)| LayerFile {
                path: path.clone(),
                function,
                file: *file,
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut packages: Vec<String> = draft
        .atoms
        .iter()
        .map(|key| atoms[key].label.clone())
        .collect();
    packages.sort();
    let unzipped_bytes = draft.bytes(atoms);
    let moved: u64 = draft
        .atoms
        .iter()
        .map(|key| atoms[key].bytes * atoms[key].functions.len() as u64)
        .sum();
    PlannedLayer {
        name: format!("{}-{}-{}", runtime.id(), arch.id(), &hash[..12]),
        runtime,
        arch,
        files,
        packages,
        functions: draft.functions.iter().copied().collect(),
        unzipped_bytes,
        saved_bytes: moved.saturating_sub(unzipped_bytes),
    }
}

/// Each function's plan with the files (and packages) that moved marked `Reason::Layer`, and
/// the layers each function attaches, in name order.
fn move_to_layers(
    inputs: &[Input<'_>],
    atoms: &Atoms,
    layers: &[PlannedLayer],
    drafts: &[Draft],
) -> (Vec<Plan>, Vec<Vec<usize>>) {
    let mut plans: Vec<Plan> = inputs.iter().map(|input| input.plan.clone()).collect();
    let mut attached = vec![Vec::new(); inputs.len()];
    for (layer_index, (layer, draft)) in layers.iter().zip(drafts).enumerate() {
        for &function in &draft.functions {
            attached[function].push(layer_index);
        }
        for key in &draft.atoms {
            for (&function, files) in &atoms[key].files {
                let plan = &mut plans[function];
                for (file, _) in files {
                    plan.files[*file].keep = false;
                    plan.files[*file].reason = Reason::Layer(layer.name.clone());
                    if let crate::model::Owner::Package(id) =
                        inputs[function].inventory.files[*file].owner
                    {
                        plan.packages[id.0].reason = Reason::Layer(layer.name.clone());
                    }
                }
                let moved: BTreeSet<usize> = files.iter().map(|(file, _)| *file).collect();
                plan.moved_to_layer(&moved);
            }
        }
    }
    (plans, attached)
}

/// Removes from `active` every atom that needs one that is not active, to a fixed point.
fn settle(atoms: &Atoms, active: &mut BTreeSet<[u8; 32]>) {
    loop {
        let before = active.len();
        let keep: BTreeSet<[u8; 32]> = active
            .iter()
            .filter(|key| atoms[*key].needs.iter().all(|need| active.contains(need)))
            .copied()
            .collect();
        *active = keep;
        if active.len() == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
